using System.Collections.Concurrent;
using System.Threading.Channels;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.Notify.Policy;
using Microsoft.Extensions.Logging;

namespace Breadboard.Notify.Notifier;

/// <summary>
/// One channel's notifier: reads alerts from its transport, shapes them with the channel's <see cref="NoisePolicy"/>,
/// delivers each notification with retries and backoff, dead-letters it after the last attempt, and acknowledges
/// each alert only once it is dealt with (notified, suppressed by policy, or dead-lettered).
/// </summary>
/// <remarks>
/// <para>Exactly once per channel, as far as the receiver is concerned: an alert is acknowledged only after its
/// notification was accepted and the channel's state (the alerts notified, and the last notified event time per rule
/// and symbol for the repeat interval) was saved (retried until it is). A notifier that crashes before the
/// acknowledgement gets the alert again and finds it among the notified, so it is not sent twice; one that crashes
/// before the save sends it again (the only window), with the same notification id for receivers that de-duplicate.
/// A bus that loses acknowledgements (a single NATS server killed hard) may hand an alert out again as new: the policy
/// recognises it while it remembers its event time, and the saved state decides for anything older. The check is per
/// alert: after a crash, the alerts its predecessor held come back only after the ack wait, behind newer alerts of the
/// same rule and symbol that may be notified first.</para>
/// <para>Every alert read and not yet acknowledged (waiting in the inbox, held for a group, or in a retry) is kept
/// from redelivery by keep-alives sent on their own loop, so a slow or hanging receiver does not make the bus hand
/// out again what this run still holds. Only this run's own attempts count towards the dead letters: a notifier
/// killed again and again must not give up on an alert it never tried to send. On stop, held alerts are left
/// unacknowledged: a durable transport delivers them again to the next run.</para>
/// </remarks>
public sealed partial class AlertNotifier
{
    private readonly INotificationChannel _channel;
    private readonly INotifierTransport _transport;
    private readonly ISilenceStore? _silences;
    private readonly NotifierOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Dictionary<string, List<IAlertDelivery>> _held = [];
    private readonly ConcurrentDictionary<IAlertDelivery, byte> _unacknowledged = new(ReferenceEqualityComparer.Instance);
    private IReadOnlyList<Silence> _activeSilences = [];
    private DateTimeOffset _silencesReadAt = DateTimeOffset.MinValue;
    private long _received, _notifications, _notifiedAlerts, _suppressed, _deadLetters, _malformed, _failedAttempts;

    public AlertNotifier(INotificationChannel channel, INotifierTransport transport, ISilenceStore? silences, NotifierOptions? options, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _channel = channel;
        _transport = transport;
        _silences = silences;
        _options = options ?? NotifierOptions.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxDeliveries, 1, nameof(options));
        _time = time;
        _logger = logger;
    }

    public string Channel => _channel.Name;

    /// <summary>Alert messages read, redeliveries included.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Notifications the channel accepted.</summary>
    public long Notifications => Interlocked.Read(ref _notifications);

    /// <summary>Alerts carried by those notifications.</summary>
    public long NotifiedAlerts => Interlocked.Read(ref _notifiedAlerts);

    /// <summary>Alerts the policy held back: silenced or within the repeat interval.</summary>
    public long Suppressed => Interlocked.Read(ref _suppressed);

    /// <summary>Notifications and malformed messages sent to the dead letters.</summary>
    public long DeadLetters => Interlocked.Read(ref _deadLetters);

    public long Malformed => Interlocked.Read(ref _malformed);

    /// <summary>Delivery attempts that failed (retried or dead-lettered).</summary>
    public long FailedAttempts => Interlocked.Read(ref _failedAttempts);

    /// <summary>Runs until cancelled or the transport's stream ends.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        var policy = new NoisePolicy(_channel.Name, _options.Policy, _time);
        foreach (var (key, ts) in await _transport.LoadStateAsync(cancellationToken))
        {
            if (NoisePolicy.TryParseStateKey(key, out var rule, out var symbol))
            {
                policy.Remember(rule, symbol, ts);
            }
        }

        var inbox = System.Threading.Channels.Channel.CreateBounded<IAlertDelivery>(new BoundedChannelOptions(10_000) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reading = ReadIntoAsync(inbox.Writer, stop.Token);
        var keepingAlive = KeepAliveLoopAsync(stop.Token);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var waitToRead = inbox.Reader.WaitToReadAsync(cancellationToken).AsTask();
                if (!waitToRead.IsCompleted)
                {
                    await Task.WhenAny(waitToRead, Task.Delay(NextWake(policy), _time, cancellationToken));
                }

                if (waitToRead.IsCompletedSuccessfully && !waitToRead.Result)
                {
                    break; // the transport's stream ended
                }

                await RefreshSilencesAsync(cancellationToken);
                while (inbox.Reader.TryRead(out var delivery))
                {
                    await OfferAsync(policy, delivery, cancellationToken);
                }

                foreach (var notification in policy.TakeDue())
                {
                    await DeliverAsync(notification, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: held alerts stay unacknowledged and come back to the next run, unless asked otherwise.
        }
        finally
        {
            await stop.CancelAsync();
            await reading;
            await keepingAlive;
        }

        if (_options.DeliverPendingOnStop)
        {
            await DeliverPendingAsync(policy, inbox.Reader);
        }
    }

    private async Task DeliverPendingAsync(NoisePolicy policy, ChannelReader<IAlertDelivery> inbox)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            while (inbox.TryRead(out var delivery))
            {
                await OfferAsync(policy, delivery, deadline.Token);
            }

            foreach (var notification in policy.TakeAll())
            {
                await DeliverAsync(notification, deadline.Token, maxAttempts: 1);
            }
        }
        catch (OperationCanceledException)
        {
            LogPendingDropped(_logger, _channel.Name, _held.Count);
        }
    }

    private async Task ReadIntoAsync(ChannelWriter<IAlertDelivery> inbox, CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            await foreach (var delivery in _transport.ReadAsync(cancellationToken))
            {
                _unacknowledged.TryAdd(delivery, 0);
                await inbox.WriteAsync(delivery, cancellationToken);
            }

            inbox.TryComplete();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            inbox.TryComplete();
        }
        catch (Exception e)
        {
            inbox.TryComplete(e);
        }
    }

    private TimeSpan NextWake(NoisePolicy policy)
    {
        var wake = _options.SilenceRefresh;
        if (policy.NextDue is { } due)
        {
            var untilDue = due - _time.GetUtcNow();
            if (untilDue < wake)
            {
                wake = untilDue;
            }
        }

        return wake < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wake;
    }

    private async Task OfferAsync(NoisePolicy policy, IAlertDelivery delivery, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _received);
        if (delivery.Alert is not { } alert)
        {
            Interlocked.Increment(ref _malformed);
            LogMalformed(_logger, _channel.Name, delivery.Problem ?? "unreadable");
            await DeadLetterAsync(new DeadLetter(_channel.Name, null, delivery.Data, delivery.Problem ?? "unreadable", delivery.DeliveryCount), cancellationToken);
            await AckAsync(delivery, cancellationToken);
            return;
        }

        if (_held.TryGetValue(alert.Id, out var copies))
        {
            // Redelivered while its notification is still pending: acknowledged together with it.
            copies.Add(delivery);
            return;
        }

        // Redelivered after a crash or a lost acknowledgement, or older than the policy remembers (a server killed
        // hard can lose recent acknowledgements and hand alerts out again as new): the saved state decides.
        if ((delivery.DeliveryCount > 1 || !policy.Remembers(alert.Ts)) && await AlreadyNotifiedAsync(alert, cancellationToken))
        {
            await AckAsync(delivery, cancellationToken);
            return;
        }

        var decision = policy.Offer(alert, _activeSilences);
        switch (decision.Outcome)
        {
            case PolicyOutcome.Accepted:
                _held[alert.Id] = [delivery];
                break;
            case PolicyOutcome.Duplicate:
                // Already notified or dead-lettered by this run: the earlier acknowledgement was lost.
                await AckAsync(delivery, cancellationToken);
                break;
            default:
                Interlocked.Increment(ref _suppressed);
                await AckAsync(delivery, cancellationToken);
                break;
        }
    }

    /// <summary>Whether the saved state records this alert as notified; when the state cannot be read, the policy decides.</summary>
    private async Task<bool> AlreadyNotifiedAsync(Alert alert, CancellationToken cancellationToken)
    {
        try
        {
            return await _transport.WasNotifiedAsync(alert.Id, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogStateNotRead(_logger, _channel.Name, OneLine(e.Message));
            return false;
        }
    }

    private async Task DeliverAsync(Notification notification, CancellationToken cancellationToken, int? maxAttempts = null)
    {
        var max = maxAttempts ?? _options.MaxDeliveries;
        var attempts = 0;
        var backoff = _options.InitialBackoff;
        var lastError = "";
        var sent = false;
        while (!sent && attempts < max)
        {
            attempts++;
            try
            {
                await _channel.SendAsync(notification with { Rules = _options.Rules }, cancellationToken);
                sent = true;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Interlocked.Increment(ref _failedAttempts);
                lastError = OneLine(e.Message);
                if (attempts >= max)
                {
                    break;
                }

                LogRetrying(_logger, _channel.Name, attempts, max, lastError, backoff.TotalSeconds);
                await Task.Delay(backoff, _time, cancellationToken);
                backoff = backoff * 2 < _options.MaxBackoff ? backoff * 2 : _options.MaxBackoff;
            }
        }

        if (sent)
        {
            foreach (var alert in notification.Alerts)
            {
                Freshness.AlertReached(alert.Id, FreshnessStage.Notifier);
            }

            Interlocked.Increment(ref _notifications);
            Interlocked.Add(ref _notifiedAlerts, notification.Alerts.Count);
            var symbols = Symbols(notification);
            LogNotified(_logger, _channel.Name, notification.Alerts[0].Rule, symbols, notification.Alerts.Count, notification.Reminder);
            await SaveStateAsync(notification, cancellationToken);
        }
        else
        {
            Interlocked.Increment(ref _deadLetters);
            var symbols = Symbols(notification);
            LogDeadLetter(_logger, _channel.Name, symbols, attempts, lastError);
            await DeadLetterAsync(new DeadLetter(_channel.Name, notification, ReadOnlyMemory<byte>.Empty, lastError, attempts), cancellationToken);
        }

        foreach (var alert in notification.Alerts)
        {
            if (_held.Remove(alert.Id, out var copies))
            {
                foreach (var delivery in copies)
                {
                    await AckAsync(delivery, cancellationToken);
                }
            }
        }
    }

    /// <summary>The state must be saved before the alerts are acknowledged (else a redelivery is notified again), so it is retried until it is.</summary>
    private Task SaveStateAsync(Notification notification, CancellationToken cancellationToken)
    {
        var changes = new Dictionary<string, long>();
        foreach (var alert in notification.Alerts)
        {
            var key = NoisePolicy.StateKey(alert.Rule, alert.Symbol);
            changes[key] = changes.TryGetValue(key, out var ts) ? Math.Max(ts, alert.Ts) : alert.Ts;
        }

        var ids = notification.Alerts.Select(a => a.Id).ToList();
        return RetryUntilDoneAsync(() => _transport.SaveStateAsync(changes, ids, cancellationToken), error => LogStateNotSaved(_logger, _channel.Name, error), cancellationToken);
    }

    /// <summary>A dead letter must be durable before its alerts are acknowledged, so it is retried until it is.</summary>
    private Task DeadLetterAsync(DeadLetter letter, CancellationToken cancellationToken) =>
        RetryUntilDoneAsync(() => _transport.DeadLetterAsync(letter, cancellationToken), error => LogDeadLetterFailed(_logger, _channel.Name, error), cancellationToken);

    /// <summary>Retries with backoff (200 ms doubling to 5 s) until done or cancelled.</summary>
    private async Task RetryUntilDoneAsync(Func<ValueTask> write, Action<string> logFailure, CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                await write();
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logFailure(OneLine(e.Message));
                await Task.Delay(backoff, _time, cancellationToken);
                backoff = backoff * 2 < TimeSpan.FromSeconds(5) ? backoff * 2 : TimeSpan.FromSeconds(5);
            }
        }
    }

    private async Task AckAsync(IAlertDelivery delivery, CancellationToken cancellationToken)
    {
        try
        {
            await delivery.AckAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The bus will deliver it again; the saved state or the policy then recognises it and it is acknowledged.
            LogAckFailed(_logger, _channel.Name, OneLine(e.Message));
        }
        finally
        {
            _unacknowledged.TryRemove(delivery, out _);
        }
    }

    /// <summary>Tells the bus, every <see cref="NotifierOptions.KeepAliveEvery"/>, that each alert read and not yet acknowledged is still being worked on.</summary>
    private async Task KeepAliveLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(_options.KeepAliveEvery, _time, cancellationToken);
                foreach (var delivery in _unacknowledged.Keys)
                {
                    try
                    {
                        await delivery.KeepAliveAsync(cancellationToken);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // The bus is away; the next round tries again, and whatever it redelivers meanwhile is recognised.
                        LogAckFailed(_logger, _channel.Name, OneLine(e.Message));
                        break;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task RefreshSilencesAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_silences is null || now - _silencesReadAt < _options.SilenceRefresh)
        {
            return;
        }

        try
        {
            _activeSilences = await _silences.ListAsync(includeExpired: false, cancellationToken);
            _silencesReadAt = now;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Keep the silences last read: better than notifying through a silence the store could not confirm.
            LogSilencesNotRead(_logger, _channel.Name, OneLine(e.Message));
            _silencesReadAt = now;
        }
    }

    /// <summary>The symbols for a log line; they came from a feed, so they are made safe to show.</summary>
    private static string Symbols(Notification notification) => OutsideText.ForDisplay(string.Join(',', notification.Alerts.Select(a => a.Symbol).Distinct()));

    /// <summary>
    /// The first line of an error, for logs and dead letters: it may quote a receiver's answer or a server's text, so
    /// it goes out redacted and without control characters.
    /// </summary>
    private static string OneLine(string message)
    {
        var end = message.IndexOf('\n', StringComparison.Ordinal);
        return OutsideText.ForDisplay(SecretText.RedactText(end < 0 ? message : message[..end]));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Channel}: notified {Rule} {Symbols} ({Count} alerts, reminder {Reminder})")]
    private static partial void LogNotified(ILogger logger, string channel, string rule, string symbols, int count, bool reminder);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel}: attempt {Attempt}/{Max} failed: {Error}; retrying in {Seconds} s")]
    private static partial void LogRetrying(ILogger logger, string channel, int attempt, int max, string error, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Channel}: gave up on {Symbols} after {Attempts} attempts, sent to the dead letters: {Error}")]
    private static partial void LogDeadLetter(ILogger logger, string channel, string symbols, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel}: malformed alert message sent to the dead letters: {Error}")]
    private static partial void LogMalformed(ILogger logger, string channel, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel}: could not store a dead letter, retrying: {Error}")]
    private static partial void LogDeadLetterFailed(ILogger logger, string channel, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel}: acknowledgement failed (the alert will come back and be recognised): {Error}")]
    private static partial void LogAckFailed(ILogger logger, string channel, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel}: could not save the repeat state, retrying: {Error}")]
    private static partial void LogStateNotSaved(ILogger logger, string channel, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel}: could not read the repeat state, the policy decides: {Error}")]
    private static partial void LogStateNotRead(ILogger logger, string channel, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Channel}: stopped with {Count} alerts not notified (the deadline passed)")]
    private static partial void LogPendingDropped(ILogger logger, string channel, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Channel}: silences not read, keeping the last ones: {Error}")]
    private static partial void LogSilencesNotRead(ILogger logger, string channel, string error);
}
