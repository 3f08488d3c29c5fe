using System.Buffers;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Microsoft.Extensions.Logging;

namespace Breadboard.Feeds.Live;

/// <summary>How a live feed connects and reconnects.</summary>
public sealed record LiveFeedOptions
{
    public static LiveFeedOptions Default { get; } = new();

    /// <summary>The endpoint instead of the venue's (<c>--feed-url</c>: tests, sandboxes).</summary>
    public Uri? Url { get; init; }

    /// <summary>The first reconnect waits up to this long; each failed attempt doubles it, up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A connection that lived this long counts as healthy: the next reconnect starts from <see cref="InitialBackoff"/> again.</summary>
    public TimeSpan HealthyAfter { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>WebSocket pings: a socket whose pong does not come back within <see cref="PingTimeout"/> is dead.</summary>
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan PingTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Ticks decoded but not yet taken by the pipeline; when full, reading from the socket waits.</summary>
    public int Capacity { get; init; } = 100_000;
}

/// <summary>
/// Where a live feed missed trades of a symbol: between its last trade before <see cref="LastTs"/> and the first
/// after, <see cref="ResumedTs"/> (epoch ms), because the connection dropped or the venue's numbering jumped.
/// </summary>
public sealed record FeedGap(string Symbol, long LastTs, long ResumedTs, string Reason);

/// <summary>
/// A venue's live trades as a tick stream: connects, sends the protocol's opening frames, reads and decodes
/// messages, and on any failure (refused, closed, silent beyond the venue's heartbeat, unanswered ping)
/// reconnects after a jittered exponential backoff and subscribes again. Trades missed meanwhile are reported
/// as <see cref="Gaps"/> so the historical provider can fill them.
/// </summary>
/// <remarks>
/// <para>Nothing a venue sends stops the feed: malformed, unknown and error messages are counted in
/// <see cref="Stats"/> and logged at most once per kind every <see cref="LogEvery"/>.</para>
/// <para>The socket is read on one task; decoded ticks go through a bounded channel, so a slow pipeline slows the
/// reading (TCP pushes back on the venue) instead of growing memory.</para>
/// </remarks>
public sealed partial class LiveFeed : IFeedSink
{
    /// <summary>Most one log line per kind of problem per this period; the rest are counted.</summary>
    public static readonly TimeSpan LogEvery = TimeSpan.FromSeconds(10);

    private readonly IVenueProtocol _protocol;
    private readonly LiveFeedOptions _options;
    private readonly ILogger _logger;
    private readonly Uri _url;
    private readonly string _symbolList;
    private readonly Channel<Tick> _ticks;
    private readonly Channel<FeedGap> _gaps = Channel.CreateUnbounded<FeedGap>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Dictionary<string, long> _lastTradeTs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _pendingGaps = new(StringComparer.Ordinal);
    private readonly Dictionary<DecodeKind, long> _lastLogged = [];

    /// <summary>When the current connection subscribed; null until it has.</summary>
    private DateTimeOffset? _subscribedAt;

    /// <summary>The trades and gaps of the message being decoded, in order (reused: no allocation per message once grown).</summary>
    private readonly List<Decoded> _decoded = new(256);

    public LiveFeed(IVenueProtocol protocol, LiveFeedOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(protocol);
        _protocol = protocol;
        _options = options ?? LiveFeedOptions.Default;
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _url = _options.Url ?? protocol.DefaultUrl;
        _ticks = Channel.CreateBounded<Tick>(new BoundedChannelOptions(_options.Capacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        Stats = new FeedStats(protocol.Name, Redacted(_url));
        _symbolList = string.Join(",", protocol.Symbols);
    }

    public FeedStats Stats { get; }

    /// <summary>Trades missed per symbol, for backfill; completed when the feed stops.</summary>
    public ChannelReader<FeedGap> Gaps => _gaps.Reader;

    /// <summary>Connects (and reconnects) until cancelled, yielding each trade as a tick in arrival order.</summary>
    public async IAsyncEnumerable<Tick> RunAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var connection = Task.Run(() => ConnectLoopAsync(cancellationToken), CancellationToken.None);
        var reader = _ticks.Reader;
        try
        {
            while (await reader.WaitToReadAsync(CancellationToken.None))
            {
                while (reader.TryRead(out var tick))
                {
                    yield return tick;
                }
            }
        }
        finally
        {
            await connection;
        }
    }

    private async Task ConnectLoopAsync(CancellationToken cancellationToken)
    {
        var attempt = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                _subscribedAt = null;
                try
                {
                    await SessionAsync(cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e)
                {
                    // Whatever ended the connection (refused, reset, silence, even a protocol bug), the feed goes on.
                    Stats.Failed(OneLine(e));
                    LogConnectionLost(_logger, _protocol.Name, Stats.Url, OneLine(e));
                }

                Stats.Disconnected();
                MarkDisconnected();
                if (cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                var lasted = _subscribedAt is { } since ? DateTimeOffset.UtcNow - since : TimeSpan.Zero;
                attempt = lasted >= _options.HealthyAfter ? 0 : attempt + 1;
                var delay = Backoff(Math.Max(attempt, 1));
                try
                {
                    await Task.Delay(delay, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        finally
        {
            _ticks.Writer.TryComplete();
            _gaps.Writer.TryComplete();
        }
    }

    /// <summary>The wait before reconnect attempt <paramref name="attempt"/> (1-based): the exponential delay with jitter,
    /// anywhere between half and all of it, so many clients dropped at once do not return at once.</summary>
    internal TimeSpan Backoff(int attempt)
    {
        var ceiling = Math.Min(_options.MaxBackoff.TotalMilliseconds, _options.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30)));
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (Random.Shared.NextDouble() * 0.5)));
    }

    /// <summary>One connection, from connect to its end (a close from the venue returns; failures throw).</summary>
    private async Task SessionAsync(CancellationToken cancellationToken)
    {
        using var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = _options.PingInterval;
        socket.Options.KeepAliveTimeout = _options.PingTimeout;
        foreach (var (name, value) in _protocol.HandshakeHeaders)
        {
            socket.Options.SetRequestHeader(name, value);
        }

        using (var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            connect.CancelAfter(_options.ConnectTimeout);
            await socket.ConnectAsync(_url, connect.Token);
        }

        _protocol.OnConnected();
        foreach (var frame in _protocol.OpeningFrames())
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        }

        Stats.Connected();
        _subscribedAt = DateTimeOffset.UtcNow;
        LogConnected(_logger, _protocol.Name, Stats.Url, _symbolList);
        await ReceiveAsync(socket, cancellationToken);
    }

    /// <summary>Reads whole messages and decodes them until the socket closes, fails, or stays silent too long.</summary>
    private async Task ReceiveAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        using var silence = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    silence.CancelAfter(_protocol.SilenceTimeout);
                    try
                    {
                        result = await socket.ReceiveAsync(buffer.AsMemory(length), silence.Token);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        throw new TimeoutException($"nothing received for {_protocol.SilenceTimeout.TotalSeconds:0.#} s");
                    }

                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    var reason = $"closed by the venue ({socket.CloseStatus}{(string.IsNullOrEmpty(socket.CloseStatusDescription) ? "" : ": " + OutsideText.ForDisplay(socket.CloseStatusDescription))})";
                    Stats.Failed(reason);
                    LogConnectionLost(_logger, _protocol.Name, Stats.Url, reason);
                    return;
                }

                await DecodeAsync(buffer.AsMemory(0, length), cancellationToken);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async ValueTask DecodeAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        Stats.Message();
        _decoded.Clear();
        var outcome = _protocol.Decode(message.Span, this);
        switch (outcome.Kind)
        {
            case DecodeKind.Trades:
            case DecodeKind.Control:
                break;
            case DecodeKind.Heartbeat:
                Stats.Heartbeat();
                break;
            default:
                Stats.Problem(outcome.Kind);
                LogProblem(outcome, message.Span);
                break;
        }

        // A malformed message may still have carried good trades before the bad one: they are kept. Gaps are
        // taken in their place among the trades, so one closes at the first trade after it.
        foreach (var item in _decoded)
        {
            if (item.GapDetail is { } detail)
            {
                _pendingGaps[item.Tick.Symbol] = detail;
                continue;
            }

            var tick = item.Tick;
            Publish(tick);
            if (!_ticks.Writer.TryWrite(tick))
            {
                await _ticks.Writer.WriteAsync(tick, cancellationToken);
            }
        }
    }

    void IFeedSink.Trade(in Tick tick) => _decoded.Add(new Decoded(tick, null));

    /// <summary>Counts the trade and closes the symbol's pending gap, if any, at this trade.</summary>
    private void Publish(in Tick tick)
    {
        Stats.Trade();
        var symbol = tick.Symbol;
        if (_pendingGaps.Remove(symbol, out var reason) && _lastTradeTs.TryGetValue(symbol, out var last) && tick.Ts > last)
        {
            Stats.Gap();
            _gaps.Writer.TryWrite(new FeedGap(symbol, last, tick.Ts, reason));
        }

        if (!_lastTradeTs.TryGetValue(symbol, out var previous) || tick.Ts > previous)
        {
            _lastTradeTs[symbol] = tick.Ts;
        }
    }

    void IFeedSink.SequenceGap(string symbol, string detail)
    {
        Stats.SequenceGap();
        _decoded.Add(new Decoded(new Tick { Symbol = symbol }, detail));
    }

    /// <summary>Every symbol seen so far has a gap from its last trade to its first after the reconnect.</summary>
    private void MarkDisconnected()
    {
        var at = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        foreach (var symbol in _lastTradeTs.Keys)
        {
            _pendingGaps.TryAdd(symbol, $"disconnected at {at}");
        }
    }

    private void LogProblem(DecodeOutcome outcome, ReadOnlySpan<byte> message)
    {
        var now = Environment.TickCount64;
        if (_lastLogged.TryGetValue(outcome.Kind, out var last) && now - last < LogEvery.TotalMilliseconds)
        {
            return;
        }

        _lastLogged[outcome.Kind] = now;
        // The venue's words, in the detail and the sample: logged without escape sequences or bidi overrides.
        var sample = OutsideText.ForDisplay(Encoding.UTF8.GetString(message[..Math.Min(message.Length, 200)]), 200);
        LogMessageProblem(_logger, _protocol.Name, outcome.Kind, OutsideText.ForDisplay(outcome.Detail), Stats.Problems(outcome.Kind), sample);
    }

    /// <summary>The URL without its query, and its user info redacted: either may carry a token.</summary>
    private static string Redacted(Uri url) => SecretText.Redact(url.GetLeftPart(UriPartial.Path));

    /// <summary>Why the connection ended, for the log and the API: the handshake's or the venue's text, made safe to show.</summary>
    private static string OneLine(Exception e) =>
        OutsideText.ForDisplay(SecretText.RedactText(e.InnerException is { } inner && e is WebSocketException ? $"{e.Message} ({inner.Message})" : e.Message));

    [LoggerMessage(Level = LogLevel.Information, Message = "{Venue} connected to {Url}: {Symbols}")]
    private static partial void LogConnected(ILogger logger, string venue, string url, string symbols);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Venue} connection to {Url} lost: {Reason}; reconnecting")]
    private static partial void LogConnectionLost(ILogger logger, string venue, string url, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Venue}: {Kind} message ({Detail}); {Total} so far, logged at most every 10 s; sample: {Sample}")]
    private static partial void LogMessageProblem(ILogger logger, string venue, DecodeKind kind, string detail, long total, string sample);

    /// <summary>A decoded trade, or (with <see cref="GapDetail"/>) a sequence gap of <c>Tick.Symbol</c> before the next trade.</summary>
    private readonly record struct Decoded(Tick Tick, string? GapDetail);
}
