using System.Buffers;
using System.Collections.Immutable;
using System.Text.Json;
using System.Threading.Channels;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Streaming;
using Breadboard.Web.Api;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Breadboard.Web.Live;

/// <summary>
/// Fans the pipeline's output out to live clients: ticks coalesced per symbol every 100 ms, the subscribed
/// chart's bars (so far and final), every alert, and pipeline status once a second.
/// </summary>
/// <remarks>
/// The pipeline thread only updates a small map and tries to enqueue; it never waits for a client. Each client
/// has a bounded queue; one that fills up is marked overflowed and its connection is aborted, so a slow
/// browser costs the pipeline nothing. In the embedded face this broadcast is the alert channel to the dashboard.
/// Nothing here throws into the caller: a message that cannot be written (a number JSON cannot hold slipped past
/// the writer, say) is logged and dropped, since the caller is the pipeline thread or the stream's clock.
/// </remarks>
public sealed class LiveHub : ILiveObserver
{
    /// <summary>Messages a client may have queued before it is dropped.</summary>
    public const int ClientQueue = 512;

    private readonly Lock _ticksGate = new();
    private Dictionary<string, TickSummary> _pendingTicks = new(StringComparer.Ordinal);
    private Dictionary<string, TickSummary> _spareTicks = new(StringComparer.Ordinal);
    private ImmutableArray<LiveClient> _clients = [];
    private ImmutableArray<(string Symbol, string Window)> _subscriptions = [];
    private readonly Lock _clientsGate = new();

    public int ClientCount => _clients.Length;

    /// <summary>Where dropped messages are reported; the web server sets its own.</summary>
    internal ILogger Logger { get; set; } = NullLogger.Instance;

    /// <summary>The (symbol, window) pairs some client charts, for which the pipeline should publish bars so far.</summary>
    public ImmutableArray<(string Symbol, string Window)> Subscriptions => _subscriptions;

    /// <summary>Messages dropped clients would have received; a measure of slow clients.</summary>
    public long DroppedClients { get; private set; }

    /// <summary>A tick the engine took. Called on the pipeline thread for every tick: it only updates the symbol's summary.</summary>
    public void OnTick(in Tick tick)
    {
        lock (_ticksGate)
        {
            ref var summary = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_pendingTicks, tick.Symbol, out _);
            summary.Price = tick.Price;
            summary.Ts = tick.Ts;
            summary.Volume += tick.Volume;
        }
    }

    public void OnClosedBar(Bar bar) => OnBar(bar, final: true);

    IReadOnlyList<(string Symbol, string Window)> ILiveObserver.WatchedCharts => _subscriptions;

    public void OnOpenBar(Bar bar) => OnBar(bar, final: false);

    /// <summary>A bar, closed or so far: sent to the clients charting its symbol and window.</summary>
    public void OnBar(Bar bar, bool final)
    {
        ArgumentNullException.ThrowIfNull(bar);
        var clients = _clients;
        byte[]? message = null;
        foreach (var client in clients)
        {
            if (client.Charts(bar.Symbol, bar.Window))
            {
                message ??= Write("bar", () => Messages.Bar(bar, final));
                if (message is null)
                {
                    return;
                }

                client.Enqueue(message);
            }
        }
    }

    /// <summary>An alert: sent to every client.</summary>
    public void OnAlert(Alert alert)
    {
        if (_clients.Length > 0 && Write("alert", () => Messages.Alert(alert)) is { } message)
        {
            Broadcast(message);
        }
    }

    /// <summary>Sends the ticks summarised since the last call, one message for all symbols; the hub's timer calls it every 100 ms.</summary>
    public void FlushTicks()
    {
        Dictionary<string, TickSummary> ticks;
        lock (_ticksGate)
        {
            if (_pendingTicks.Count == 0)
            {
                return;
            }

            ticks = _pendingTicks;
            _pendingTicks = _spareTicks;
            _spareTicks = ticks;
        }

        if (_clients.Length > 0 && Write("ticks", () => Messages.Ticks(ticks)) is { } message)
        {
            Broadcast(message);
        }

        ticks.Clear();
    }

    public void Broadcast(byte[] message)
    {
        foreach (var client in _clients)
        {
            client.Enqueue(message);
        }
    }

    public LiveClient Connect() => TryConnect(int.MaxValue)!;

    /// <summary>A new client, unless <paramref name="maxClients"/> are connected already.</summary>
    public LiveClient? TryConnect(int maxClients)
    {
        lock (_clientsGate)
        {
            if (_clients.Length >= maxClients)
            {
                return null;
            }

            var client = new LiveClient(this);
            _clients = _clients.Add(client);
            return client;
        }
    }

    /// <summary>The message <paramref name="write"/> makes, or null (logged) when it throws.</summary>
    internal byte[]? Write(string kind, Func<byte[]> write)
    {
        try
        {
            return write();
        }
        catch (Exception e)
        {
            Logger.LiveMessageDropped(e, kind);
            return null;
        }
    }

    internal void Disconnect(LiveClient client)
    {
        lock (_clientsGate)
        {
            _clients = _clients.Remove(client);
            if (client.Overflowed)
            {
                DroppedClients++;
            }

            RefreshSubscriptions();
        }
    }

    internal void SubscriptionChanged()
    {
        lock (_clientsGate)
        {
            RefreshSubscriptions();
        }
    }

    private void RefreshSubscriptions()
    {
        var set = new HashSet<(string, string)>();
        foreach (var c in _clients)
        {
            if (c.Subscription is { } s)
            {
                set.Add(s);
            }
        }

        _subscriptions = [.. set];
    }

    internal struct TickSummary
    {
        public double Price;
        public long Ts;
        public double Volume;
    }
}

/// <summary>One connected browser: its queue of messages and the chart it subscribed to.</summary>
public sealed class LiveClient : IDisposable
{
    private readonly LiveHub _hub;
    private readonly Channel<byte[]> _queue = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(LiveHub.ClientQueue)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full; nothing waits
    });

    private readonly CancellationTokenSource _overflow = new();
    private volatile Tuple<string, string>? _subscription;
    private int _overflowed;
    private int _disposed;

    internal LiveClient(LiveHub hub) => _hub = hub;

    public ChannelReader<byte[]> Messages => _queue.Reader;

    /// <summary>Set once the queue overflowed; the connection is then closed and the client resynchronises over REST.</summary>
    public bool Overflowed => Volatile.Read(ref _overflowed) == 1;

    /// <summary>Cancelled when the queue overflows, so a send stuck on a client that stopped reading is abandoned.</summary>
    public CancellationToken OverflowToken => _overflow.Token;

    public (string Symbol, string Window)? Subscription => _subscription is { } s ? (s.Item1, s.Item2) : null;

    public bool Charts(string symbol, string window) =>
        _subscription is { } s && s.Item1 == symbol && s.Item2 == window;

    public void Subscribe(string symbol, string window)
    {
        _subscription = Tuple.Create(symbol, window);
        _hub.SubscriptionChanged();
    }

    /// <summary>Queues a message; never throws, also not on a client that disconnected since the caller saw it.</summary>
    public void Enqueue(byte[] message)
    {
        if (_queue.Writer.TryWrite(message) || Volatile.Read(ref _disposed) == 1)
        {
            return;
        }

        if (Interlocked.Exchange(ref _overflowed, 1) == 0)
        {
            _queue.Writer.TryComplete();
            try
            {
                _overflow.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Disconnected meanwhile: nobody waits on the token any more.
            }
        }
    }

    public void Dispose()
    {
        _queue.Writer.TryComplete();
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _hub.Disconnect(this);
            _overflow.Dispose();
        }
    }
}

/// <summary>The stream's JSON messages, serialised once and shared by every client.</summary>
internal static class Messages
{
    private static readonly JsonWriterOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] Bar(Bar bar, bool final) => Write(w =>
    {
        w.WriteString("type"u8, "bar"u8);
        w.WriteBoolean("final"u8, final);
        w.WritePropertyName("bar"u8);
        Json.WriteBar(w, bar);
    });

    public static byte[] Alert(Alert alert) => Write(w =>
    {
        w.WriteString("type"u8, "alert"u8);
        w.WritePropertyName("alert"u8);
        Json.WriteAlert(w, alert);
    });

    public static byte[] Ticks(Dictionary<string, LiveHub.TickSummary> ticks) => Write(w =>
    {
        w.WriteString("type"u8, "ticks"u8);
        w.WriteStartArray("items"u8);
        foreach (var (symbol, t) in ticks)
        {
            w.WriteStartObject();
            w.WriteString("symbol"u8, symbol);
            Json.WriteNumber(w, "price"u8, t.Price);
            Core.Codec.TickJson.WriteTime(w, "ts"u8, t.Ts);
            Json.WriteNumber(w, "volume"u8, t.Volume);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    public static byte[] Hello(PipelineDefinition pipeline) => Write(w =>
    {
        w.WriteString("type"u8, "hello"u8);
        w.WriteStartArray("windows"u8);
        foreach (var window in pipeline.Windows)
        {
            w.WriteStartObject();
            w.WriteString("name"u8, window.Name);
            w.WriteString("type"u8, window.Kind.Name);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("rules"u8);
        foreach (var rule in pipeline.Rules)
        {
            w.WriteStartObject();
            w.WriteString("name"u8, rule.Name);
            w.WriteString("type"u8, rule.Kind.Name);
            w.WriteString("unit"u8, rule.Kind.Unit(rule));
            w.WriteString("window"u8, rule.Window);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    public static byte[] Pipeline(PipelineStatus status) => Write(w =>
    {
        w.WriteString("type"u8, "pipeline"u8);
        w.WritePropertyName("stats"u8);
        JsonSerializer.Serialize(w, status, Json.Options);
    });

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
