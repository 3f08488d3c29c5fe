using System.Threading.Channels;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace Breadboard.Nats;

/// <summary>
/// The production alert bus (<c>nats://</c>): publishes each alert to <c>alerts.&lt;rule&gt;</c> on the ALERTS
/// stream with <c>Nats-Msg-Id</c> = alert id, many at once, and waits for every acknowledgement.
/// </summary>
/// <remarks>
/// <para><see cref="PublishAsync"/> puts the alert in a bounded buffer and returns; a pump publishes up to
/// <see cref="MaxInFlight"/> alerts concurrently (acknowledgements are awaited together, which is what makes
/// tens of thousands a second possible). While NATS is unreachable each alert is retried with backoff and the
/// buffer fills; once full, <see cref="PublishAsync"/> waits, so nothing is dropped. <see cref="FlushAsync"/>
/// returns once every alert handed over before it is acknowledged.</para>
/// <para>Re-publishing is harmless: the server drops a message id it has seen within the duplicate window, and
/// readers key on the alert id beyond it.</para>
/// </remarks>
public sealed partial class NatsAlertBus : IAlertBus
{
    public const int MaxInFlight = 1024;

    private readonly NatsConnection _connection;
    private readonly INatsJSContext _js;
    private readonly ILogger _logger;
    private readonly Channel<(long Seq, Alert Alert)> _buffer;
    private readonly SemaphoreSlim _slots = new(MaxInFlight, MaxInFlight);
    // Sequence numbers are handed out in order and complete in any order: every sequence below _doneBelow is
    // complete, and _doneAhead holds the completed ones above it (few: at most the publishes in flight).
    private readonly HashSet<long> _doneAhead = [];
    private long _doneBelow = 1;
    private long _completed;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _pump;
    private TaskCompletionSource? _progress;
    private long _nextSeq;
    private long _published, _duplicates, _retries;
    private long _lastFailureLog;

    private NatsAlertBus(NatsConnection connection, INatsJSContext js, NatsAlertOptions options, ILogger logger)
    {
        _connection = connection;
        _js = js;
        _logger = logger;
        _buffer = Channel.CreateBounded<(long, Alert)>(new BoundedChannelOptions(options.BufferCapacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
        _pump = Task.Run(PumpAsync);
    }

    /// <summary>The JetStream context of the bus's connection, for the dashboard's consumer in the same process.</summary>
    public INatsJSContext JetStream => _js;

    /// <summary>Throws unless JetStream answers for the ALERTS stream: the bus's health check.</summary>
    public Task CheckAsync(CancellationToken cancellationToken) => AlertStreams.CheckAsync(_js, cancellationToken);

    /// <summary>Alerts the server acknowledged as new.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Alerts the server acknowledged as already on the stream (a re-publish).</summary>
    public long Duplicates => Interlocked.Read(ref _duplicates);

    /// <summary>Publish attempts that failed and were tried again.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    /// <summary>Alerts handed over and not yet acknowledged.</summary>
    public int Pending
    {
        get
        {
            lock (_gate)
            {
                return (int)(_nextSeq - _completed);
            }
        }
    }

    /// <summary>Connects, makes sure the streams exist, and starts the pump; an unreachable server throws <see cref="NatsSetupException"/>.</summary>
    public static async Task<NatsAlertBus> ConnectAsync(NatsAlertOptions options, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var connection = AlertStreams.Connect(options, "alerts");
        try
        {
            var js = await AlertStreams.EnsureAsync(connection, options, cancellationToken);
            return new NatsAlertBus(connection, js, options, logger ?? NullLogger.Instance);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public async ValueTask PublishAsync(Alert alert, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(alert);
        long seq;
        lock (_gate)
        {
            seq = ++_nextSeq;
        }

        try
        {
            await _buffer.Writer.WriteAsync((seq, alert), cancellationToken);
        }
        catch
        {
            Complete(seq);
            throw;
        }
    }

    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        long upTo;
        lock (_gate)
        {
            upTo = _nextSeq;
        }

        while (true)
        {
            Task progress;
            lock (_gate)
            {
                if (_doneBelow > upTo)
                {
                    return;
                }

                // Completions signal only while someone waits, so publishing allocates nothing for it.
                _progress ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                progress = _progress.Task;
            }

            await progress.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Publishes what is buffered (waiting up to 30 s for an unreachable server, then saying how many were not sent) and disconnects.</summary>
    public async ValueTask DisposeAsync()
    {
        _buffer.Writer.TryComplete();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            try
            {
                await FlushAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                LogUnsent(_logger, Pending);
            }
        }

        await _stopping.CancelAsync();
        try
        {
            await _pump;
        }
        catch (OperationCanceledException)
        {
            // Stopping: the unsent alerts were reported above.
        }

        await _connection.DisposeAsync();
        _stopping.Dispose();
        _slots.Dispose();
    }

    private async Task PumpAsync()
    {
        await foreach (var (seq, alert) in _buffer.Reader.ReadAllAsync(_stopping.Token))
        {
            await _slots.WaitAsync(_stopping.Token);
            _ = PublishOneAsync(seq, alert);
        }
    }

    private async Task PublishOneAsync(long seq, Alert alert)
    {
        try
        {
            var subject = NatsAlertOptions.SubjectOf(alert.Rule);
            var data = RecordJson.Alert(alert);
            var opts = new NatsJSPubOpts { MsgId = alert.Id };
            var backoff = TimeSpan.FromMilliseconds(100);
            while (true)
            {
                try
                {
                    var ack = await _js.PublishAsync(subject, data, opts: opts, cancellationToken: _stopping.Token);
                    if (ack.Error is { } error)
                    {
                        throw new NatsJSApiException(error);
                    }

                    Interlocked.Increment(ref ack.Duplicate ? ref _duplicates : ref _published);
                    Freshness.AlertReached(alert.Id, FreshnessStage.Nats);
                    return;
                }
                catch (Exception e) when (e is NatsException or TimeoutException && !_stopping.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _retries);
                    LogFailure(e);
                    await Task.Delay(backoff, _stopping.Token);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposal gave up on an unreachable server; DisposeAsync reported the count.
        }
        finally
        {
            _slots.Release();
            Complete(seq);
        }
    }

    private void Complete(long seq)
    {
        TaskCompletionSource? waiting;
        lock (_gate)
        {
            _completed++;
            if (seq == _doneBelow)
            {
                _doneBelow++;
                while (_doneAhead.Remove(_doneBelow))
                {
                    _doneBelow++;
                }
            }
            else
            {
                _doneAhead.Add(seq);
            }

            waiting = _progress;
            _progress = null;
        }

        waiting?.TrySetResult();
    }

    /// <summary>At most one line every 5 s while NATS is failing, so an outage doesn't flood the log.</summary>
    private void LogFailure(Exception e)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastFailureLog);
        if (now - last >= 5_000 && Interlocked.CompareExchange(ref _lastFailureLog, now, last) == last)
        {
            LogRetrying(_logger, Pending, AlertStreams.FirstLine(e.Message));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "alerts: NATS publish failed, retrying ({Pending} alerts waiting): {Reason}")]
    private static partial void LogRetrying(ILogger logger, int pending, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "alerts: {Count} alerts were not published: NATS stayed unreachable while stopping")]
    private static partial void LogUnsent(ILogger logger, int count);
}
