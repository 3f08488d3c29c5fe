using System.Buffers;
using System.Collections.Immutable;
using System.Text.Json;
using System.Threading.Channels;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Indicators;
using Breadboard.Core.Pipeline.Rules;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.Web.Api;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Breadboard.Web.Live;

/// <summary>
/// Fans the pipeline's output out to live clients: ticks coalesced per symbol every 100 ms, the subscribed
/// chart's bars (so far and final, a final one with its window's indicator values), every alert, and pipeline
/// status once a second.
/// </summary>
/// <remarks>
/// <para>The indicator values on closed bars are computed here by the engine's own code (<see cref="IndicatorLayout.Update"/>)
/// over every closed bar the hub sees, per symbol, so they are the engine's values as long as the hub has seen the
/// symbol's bars from the same start as the engine. After a restart that resumed the engine from a checkpoint,
/// <see cref="WarmUpAsync"/> takes the stored bars' warm-up first (as the history, <c>/api/bars?indicators=true</c>,
/// does), so the first live bars carry values; a bar taken already is not taken twice.</para>
/// <para>
/// The pipeline thread only updates a small map and tries to enqueue; it never waits for a client. Each client
/// has a bounded queue; one that fills up is marked overflowed and its connection is aborted, so a slow
/// browser costs the pipeline nothing. In the embedded face this broadcast is the alert channel to the dashboard.
/// Nothing here throws into the caller: a message that cannot be written (a number JSON cannot hold slipped past
/// the writer, say) is logged and dropped, since the caller is the pipeline thread or the stream's clock.
/// </para>
/// </remarks>
public sealed class LiveHub : ILiveObserver
{
    /// <summary>Messages a client may have queued before it is dropped.</summary>
    public const int ClientQueue = 512;

    // Tick stamps kept between two flushes at most (8 MiB): a hub nobody flushes does not grow without bound.
    private const int MaxStamps = 1 << 20;

    private readonly Lock _ticksGate = new();
    private Dictionary<string, TickSummary> _pendingTicks = new(StringComparer.Ordinal);
    private Dictionary<string, TickSummary> _spareTicks = new(StringComparer.Ordinal);

    // When each tick summarised since the last flush was received (Stopwatch stamps), for Freshness; reused buffers.
    private long[] _pendingStamps = new long[1024];
    private long[] _spareStamps = new long[1024];
    private int _stampCount;
    private ImmutableArray<LiveClient> _clients = [];
    private ImmutableArray<(string Symbol, string Window)> _subscriptions = [];
    private readonly Lock _clientsGate = new();
    private readonly Lock _indicatorsGate = new();

    // The ids of the last alerts sent: an embedded engine hands its alerts over as they fire, and the same alerts come
    // again from the alert bus once stored; a few thousand is far more than arrive between the two.
    private const int SentAlertsKept = 4096;
    private readonly Lock _alertsGate = new();
    private readonly HashSet<string> _sentAlerts = new(StringComparer.Ordinal);
    private readonly Queue<string> _sentOrder = new();
    private readonly Dictionary<string, SymbolIndicators> _symbolIndicators = new(StringComparer.Ordinal);

    // Per (symbol, window): the window_start of the last closed bar taken into the indicators.
    private readonly Dictionary<(string Symbol, string Window), long> _lastTaken = [];
    private volatile ChartIndicators? _indicators;

    /// <param name="pipeline">
    /// The pipeline whose indicators closed bars carry; <see cref="WebServer.Build"/> sets it from its options when
    /// it is not given here.
    /// </param>
    public LiveHub(PipelineDefinition? pipeline = null)
    {
        if (pipeline is not null)
        {
            _indicators = new ChartIndicators(pipeline);
        }
    }

    public int ClientCount => _clients.Length;

    /// <summary>The pipeline's indicators as the dashboard draws them; null until a pipeline is known.</summary>
    internal ChartIndicators? Indicators => _indicators;

    /// <summary>Uses <paramref name="pipeline"/>'s indicators from now on, unless it is the one in use already (then its state is kept).</summary>
    internal ChartIndicators UsePipeline(PipelineDefinition pipeline)
    {
        lock (_indicatorsGate)
        {
            if (_indicators is { } current && ReferenceEquals(current.Pipeline, pipeline))
            {
                return current;
            }

            _symbolIndicators.Clear();
            _lastTaken.Clear();
            return _indicators = new ChartIndicators(pipeline);
        }
    }

    /// <summary>Where dropped messages are reported; the web server sets its own.</summary>
    internal ILogger Logger { get; set; } = NullLogger.Instance;

    /// <summary>The (symbol, window) pairs some client charts, for which the pipeline should publish bars so far.</summary>
    public ImmutableArray<(string Symbol, string Window)> Subscriptions => _subscriptions;

    /// <summary>Messages dropped clients would have received; a measure of slow clients.</summary>
    public long DroppedClients { get; private set; }

    /// <summary>A tick the engine took. Called on the pipeline thread for every tick: it only updates the symbol's summary.</summary>
    public void OnTick(in Tick tick) => OnTick(in tick, 0);

    /// <summary>A tick the engine took, received at <paramref name="receivedAt"/> (a Stopwatch stamp; 0 when unknown): its delay to the stream is measured when it is sent.</summary>
    public void OnTick(in Tick tick, long receivedAt)
    {
        lock (_ticksGate)
        {
            ref var summary = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_pendingTicks, tick.Symbol, out _);
            summary.Price = tick.Price;
            summary.Ts = tick.Ts;
            summary.Volume += tick.Volume;
            if (receivedAt != 0 && Freshness.TicksMeasured && _stampCount < MaxStamps)
            {
                if (_stampCount == _pendingStamps.Length)
                {
                    Array.Resize(ref _pendingStamps, _pendingStamps.Length * 2);
                }

                _pendingStamps[_stampCount++] = receivedAt;
            }
        }
    }

    public void OnClosedBar(Bar bar) => OnBar(bar, final: true);

    IReadOnlyList<(string Symbol, string Window)> ILiveObserver.WatchedCharts => _subscriptions;

    public void OnOpenBar(Bar bar) => OnBar(bar, final: false);

    /// <summary>
    /// A bar, closed or so far: sent to the clients charting its symbol and window. A closed bar of a window with
    /// indicators first goes into the symbol's indicators, charted or not, and carries their values.
    /// </summary>
    /// <remarks>Closed bars of one symbol and window must come in the engine's order (it is the order it updates its indicators in).</remarks>
    public void OnBar(Bar bar, bool final)
    {
        ArgumentNullException.ThrowIfNull(bar);
        var clients = _clients;
        var charted = false;
        foreach (var client in clients)
        {
            if (client.Charts(bar.Symbol, bar.Window))
            {
                charted = true;
                break;
            }
        }

        Dictionary<string, double>? indicators = null;
        if (final && _indicators is { } chart && chart.Of(bar.Window) is { } window)
        {
            indicators = Track(chart, window, bar, charted);
        }

        if (!charted)
        {
            return;
        }

        var message = Write("bar", () => Messages.Bar(bar, final, indicators));
        if (message is null)
        {
            return;
        }

        foreach (var client in clients)
        {
            if (client.Charts(bar.Symbol, bar.Window))
            {
                client.Enqueue(message);
            }
        }
    }

    /// <summary>
    /// A live reload: draws <paramref name="pipeline"/>'s indicators from now on, warmed up from the store like
    /// <see cref="WarmUpAsync"/>. A live bar taken before its stored predecessors makes them skipped, never taken out of order.
    /// </summary>
    public Task ReloadAsync(PipelineDefinition pipeline, IMarketStore store, int maxBars, CancellationToken cancellationToken = default)
    {
        UsePipeline(pipeline);
        return WarmUpAsync(store, maxBars, cancellationToken);
    }

    /// <summary>
    /// Takes every stored symbol's latest closed bars of each window with indicators (as many as the window's
    /// warm-up, at most <paramref name="maxBars"/>) into the hub's indicators, so that after a restart the first live
    /// bars carry values rather than waiting for a warm-up's worth of new bars. Call it before the pipeline starts.
    /// </summary>
    public async Task WarmUpAsync(IMarketStore store, int maxBars, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (_indicators is not { } chart)
        {
            return;
        }

        var symbols = new List<string>();
        await foreach (var summary in store.QuerySymbolsAsync(cancellationToken))
        {
            symbols.Add(summary.Symbol);
        }

        foreach (var definition in chart.Pipeline.Windows)
        {
            if (chart.Of(definition.Name) is not { Warmup: > 0 } window)
            {
                continue;
            }

            foreach (var symbol in symbols)
            {
                await foreach (var bar in store.QueryBarsAsync(new BarQuery(symbol, definition.Name, Limit: Math.Min(window.Warmup, maxBars)), cancellationToken))
                {
                    Track(chart, window, bar, read: false);
                }
            }
        }
    }

    /// <summary>Takes a closed bar into its symbol's indicators; their values by name when <paramref name="read"/>, else null.</summary>
    private Dictionary<string, double>? Track(ChartIndicators chart, WindowIndicators window, Bar bar, bool read)
    {
        try
        {
            lock (_indicatorsGate)
            {
                if (!ReferenceEquals(chart, _indicators))
                {
                    return null; // the pipeline changed meanwhile; the next bar goes to the new one
                }

                // A bar taken already (read from the store at start, then emitted again by an engine resumed from an
                // earlier checkpoint) is not taken twice, and carries no values: they would be a later bar's.
                var key = (bar.Symbol, bar.Window);
                if (_lastTaken.TryGetValue(key, out var last) && bar.WindowStart <= last)
                {
                    return null;
                }

                _lastTaken[key] = bar.WindowStart;
                if (!_symbolIndicators.TryGetValue(bar.Symbol, out var symbol))
                {
                    symbol = chart.Layout.CreateSymbol();
                    _symbolIndicators.Add(bar.Symbol, symbol);
                }

                chart.Layout.Update(window.Indices, bar, symbol);
                return read ? window.Named(window.Read(symbol)) : null;
            }
        }
        catch (Exception e)
        {
            Logger.LiveMessageDropped(e, "indicators");
            return null;
        }
    }

    /// <summary>An alert: sent to every client, once, whichever way it comes first (from the engine, or from the alert bus).</summary>
    public void OnAlert(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        lock (_alertsGate)
        {
            if (!_sentAlerts.Add(alert.Id))
            {
                return;
            }

            _sentOrder.Enqueue(alert.Id);
            if (_sentOrder.Count > SentAlertsKept)
            {
                _sentAlerts.Remove(_sentOrder.Dequeue());
            }
        }

        Freshness.AlertReached(alert.Id, FreshnessStage.Stream);
        if (_clients.Length > 0 && Write("alert", () => Messages.Alert(alert)) is { } message)
        {
            Broadcast(message);
        }
    }

    /// <summary>Sends the ticks summarised since the last call, one message for all symbols; the hub's timer calls it every 100 ms.</summary>
    public void FlushTicks()
    {
        Dictionary<string, TickSummary> ticks;
        long[] stamps;
        int stampCount;
        lock (_ticksGate)
        {
            if (_pendingTicks.Count == 0)
            {
                return;
            }

            ticks = _pendingTicks;
            _pendingTicks = _spareTicks;
            _spareTicks = ticks;
            (stamps, stampCount) = (_pendingStamps, _stampCount);
            (_pendingStamps, _spareStamps, _stampCount) = (_spareStamps, stamps, 0);
        }

        if (_clients.Length > 0 && Write("ticks", () => Messages.Ticks(ticks)) is { } message)
        {
            Broadcast(message);
        }

        // Measured at the broadcast (each client's queue), with or without clients: the moment the update is on the stream.
        var now = Freshness.Now();
        for (var i = 0; i < stampCount; i++)
        {
            Freshness.TickOnStream(stamps[i], now);
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

    public static byte[] Bar(Bar bar, bool final, IReadOnlyDictionary<string, double>? indicators = null) => Write(w =>
    {
        w.WriteString("type"u8, "bar"u8);
        w.WriteBoolean("final"u8, final);
        w.WritePropertyName("bar"u8);
        Json.WriteBar(w, bar, indicators);
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

    public static byte[] Hello(ChartIndicators chart) => Write(w =>
    {
        var pipeline = chart.Pipeline;
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
            w.WriteString("description"u8, Notify.RuleText.Describe(rule));
            if (rule.Settings is ExpressionSettings expression)
            {
                // What the dashboard's backtest form starts from when a person picks the rule.
                w.WriteString("when"u8, expression.When);
                w.WriteNumber("for"u8, expression.For);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartArray("indicators"u8);
        var layout = chart.Layout;
        for (var i = 0; i < layout.Indicators.Count; i++)
        {
            var indicator = layout.Indicators[i];
            w.WriteStartObject();
            w.WriteString("name"u8, indicator.Name);
            w.WriteString("type"u8, indicator.Kind.Name);
            w.WriteString("window"u8, indicator.Window);
            w.WriteString("of"u8, indicator.Of);
            w.WriteNumber("period"u8, indicator.Period);
            if (indicator.Kind.TakesK)
            {
                Json.WriteNumber(w, "k"u8, indicator.K);
            }

            w.WriteStartArray("values"u8);
            foreach (var name in indicator.ValueNames())
            {
                w.WriteStringValue(name);
            }

            w.WriteEndArray();
            w.WriteString("unit"u8, chart.Unit(i));
            w.WriteString("pane"u8, chart.Pane(i));
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
