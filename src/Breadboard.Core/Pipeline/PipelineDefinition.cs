using Breadboard.Core.Pipeline.Indicators;
using Breadboard.Core.Pipeline.Rules;
using Breadboard.Core.Pipeline.Windows;

namespace Breadboard.Core.Pipeline;

/// <summary>
/// What the pipeline computes: windows, aggregates, alert rules and event-time tolerances. The single source of
/// truth for every engine: the local engine runs it, the Flink compiler translates it.
/// </summary>
public sealed record PipelineDefinition
{
    private IReadOnlyList<IndicatorDefinition> _indicators = [];
    private IndicatorLayout? _layout;

    /// <summary>How far behind the highest event time seen the watermark trails.</summary>
    public required long OutOfOrdernessMs { get; init; }

    /// <summary>How long, in event time, a (symbol, trade_id) is remembered for de-duplication.</summary>
    public required long DedupHorizonMs { get; init; }

    public required IReadOnlyList<WindowDefinition> Windows { get; init; }

    /// <summary>The bar columns emitted, in <see cref="Aggregate"/> order.</summary>
    public required IReadOnlyList<Aggregate> Aggregates { get; init; }

    public required IReadOnlyList<RuleDefinition> Rules { get; init; }

    /// <summary>Indicators computed per symbol over the closed bars of their windows; rules' expressions name them.</summary>
    public IReadOnlyList<IndicatorDefinition> Indicators
    {
        get => _indicators;
        init
        {
            _indicators = value;
            _layout = null;
        }
    }

    /// <summary>Where each indicator's values sit: shared by the engine, the rules and the dashboard.</summary>
    public IndicatorLayout IndicatorLayout => _layout ??= _indicators.Count == 0 ? IndicatorLayout.Empty : new IndicatorLayout(_indicators);

    /// <summary>How ticks dated ahead of the rest are refused, so that one bad clock cannot poison event time.</summary>
    public FutureGuard Future { get; init; } = FutureGuard.Default;

    /// <summary>
    /// The default pipeline (also shipped as config/pipeline.yaml): 1m tumbling, 5m hopping every minute, 30 s
    /// sessions; price drop/spike of 5 % over 5 minutes; volume surge at 5× the mean of the previous 20 1m bars.
    /// </summary>
    public static PipelineDefinition Default { get; } = new()
    {
        OutOfOrdernessMs = 5_000,
        DedupHorizonMs = 600_000,
        Windows =
        [
            WindowDefinition.Tumbling("1m", 60_000),
            WindowDefinition.Hopping("5m", 300_000, 60_000),
            WindowDefinition.Session("session", 30_000),
        ],
        Aggregates = Enum.GetValues<Aggregate>(),
        Rules =
        [
            RuleDefinition.PriceChange("price_drop", "5m", ComparisonOp.LessOrEqual, -5),
            RuleDefinition.PriceChange("price_spike", "5m", ComparisonOp.GreaterOrEqual, 5),
            RuleDefinition.VolumeSurge("volume_surge", "1m", 5, 20),
        ],
    };

    /// <summary>
    /// The latest tick time every window can hold: a window ends at most its size (a session: its gap) after its
    /// latest tick, and its end must still be a date (before year 10000). Engines refuse later ticks.
    /// </summary>
    public long LatestTickMs
    {
        get
        {
            var extent = 0L;
            foreach (var w in Windows)
            {
                extent = Math.Max(extent, w.Kind.Extent(w));
            }

            return Model.EventTime.MaxMs - extent;
        }
    }

    public WindowDefinition Window(string name)
    {
        foreach (var w in Windows)
        {
            if (w.Name == name)
            {
                return w;
            }
        }

        throw new KeyNotFoundException($"no window named '{name}'");
    }

    /// <summary>
    /// A canonical one-line description of everything that affects results; a checkpoint taken under one
    /// definition is refused under another.
    /// </summary>
    public string Fingerprint()
    {
        var sb = new System.Text.StringBuilder();
        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"ooo={OutOfOrdernessMs};dedup={DedupHorizonMs}");
        foreach (var w in Windows)
        {
            sb.Append(";window=").Append(w.Kind.Fingerprint(w));
        }

        foreach (var i in Indicators)
        {
            sb.Append(";indicator=").Append(i.Kind.Fingerprint(i));
        }

        foreach (var r in Rules)
        {
            sb.Append(";rule=").Append(r.Kind.Fingerprint(r));
        }

        // Left out at its default, so that checkpoints taken before the guard existed stay valid.
        if (Future != FutureGuard.Default)
        {
            sb.Append(System.Globalization.CultureInfo.InvariantCulture, $";future={Future.ClockSkewMs},{Future.MaxJumpMs},{Future.Confirm}");
        }

        return sb.ToString();
    }

    /// <summary>
    /// The <see cref="Fingerprint"/> in 16 hex digits (the first 8 bytes of its SHA-256): what alerts, /api/pipeline
    /// and the store's pipeline history name a definition by.
    /// </summary>
    /// <remarks>Computed on each call (a record's <c>with</c> would copy a cached one); callers keep it.</remarks>
    public string Digest() => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Fingerprint())), 0, 8);

    /// <summary>
    /// Bars of <paramref name="window"/> a symbol needs before its indicators and rules are warmed up: the longest
    /// chain of indicators (an indicator of an indicator needs both warm-ups) plus the longest rule history. 0 when
    /// nothing on the window looks back.
    /// </summary>
    public long WarmupBars(string window)
    {
        var need = new Dictionary<string, long>(StringComparer.Ordinal);
        long indicators = 0;
        foreach (var i in Indicators)
        {
            var own = i.Kind.WarmupBars(i);
            if (i.Of is { } of && IndicatorLayout.TryFind(of, out var slot))
            {
                own += need[IndicatorLayout.OwnerOf(slot).Name];
            }

            need[i.Name] = own;
            if (i.Window == window)
            {
                indicators = Math.Max(indicators, own);
            }
        }

        long rules = 0;
        foreach (var r in Rules)
        {
            if (r.Window == window)
            {
                rules = Math.Max(rules, r.Kind.HistoryBars(r));
            }
        }

        return indicators + rules;
    }

    /// <summary>
    /// Event time before a range that holds enough bars of every window for <see cref="WarmupBars"/>, when trading
    /// is continuous: a window's bars follow each other a slide apart (a session's at least a gap apart, so a
    /// quiet symbol's sessions may need more). 0 when nothing looks back.
    /// </summary>
    public long WarmupMs()
    {
        long longest = 0;
        foreach (var w in Windows)
        {
            var bars = WarmupBars(w.Name);
            if (bars > 0)
            {
                var step = w.Kind.Assignment == WindowAssignment.Session ? w.GapMs : w.SlideMs;
                longest = Math.Max(longest, (long)Math.Min((double)bars * step, Model.EventTime.MaxMs));
            }
        }

        return longest;
    }

    public bool Emits(Aggregate aggregate)
    {
        foreach (var a in Aggregates)
        {
            if (a == aggregate)
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// The guard against ticks from the future. A trade cannot happen after the clock that receives it, and one tick
/// with a bad clock would otherwise move the watermark ahead and make every later tick late.
/// </summary>
/// <param name="ClockSkewMs">
/// Live faces (a feed or Kafka): a tick more than this ahead of the wall clock is refused. 0 turns the check off.
/// Replays and backtests never read the clock, so that their output depends on their input alone.
/// </param>
/// <param name="MaxJumpMs">
/// Every face: a tick more than this ahead of the watermark is held rather than taken. 0 turns the check off.
/// </param>
/// <param name="Confirm">
/// Held ticks are taken once this many are held (the jump is real: a market opening after a weekend, a feed back
/// after a gap), and refused once this many ticks after the first of them were not ahead (a bad clock).
/// </param>
public sealed record FutureGuard(long ClockSkewMs, long MaxJumpMs, int Confirm)
{
    public static FutureGuard Default { get; } = new(3_600_000, 86_400_000, 20);

    /// <summary>No checks: every tick moves event time, however far ahead.</summary>
    public static FutureGuard Off { get; } = new(0, 0, 1);
}

/// <summary>One window of the pipeline; its <see cref="WindowKind"/> (in <c>Pipeline/Windows</c>) says what the sizes mean.</summary>
public sealed record WindowDefinition(string Name, WindowKind Kind, long SizeMs, long SlideMs, long GapMs)
{
    public static WindowDefinition Tumbling(string name, long sizeMs) => new(name, WindowKind.Tumbling, sizeMs, sizeMs, 0);

    public static WindowDefinition Hopping(string name, long sizeMs, long slideMs) => new(name, WindowKind.Hopping, sizeMs, slideMs, 0);

    public static WindowDefinition Session(string name, long gapMs) => new(name, WindowKind.Session, 0, 0, gapMs);
}

/// <summary>Bar columns beyond the keys; the order here is the order they are written in.</summary>
public enum Aggregate
{
    Open,
    High,
    Low,
    Close,
    Volume,
    Vwap,
    Trades,
}

public enum ComparisonOp
{
    LessOrEqual,
    GreaterOrEqual,
}

/// <summary>One alert rule, evaluated on every closed window of <see cref="Window"/>; its <see cref="RuleKind"/> (in <c>Pipeline/Rules</c>) says how.</summary>
public sealed record RuleDefinition(string Name, RuleKind Kind, string Window, ComparisonOp Op, double Threshold, int Lookback)
{
    public static RuleDefinition PriceChange(string name, string window, ComparisonOp op, double thresholdPercent) =>
        new(name, RuleKind.PriceChange, window, op, thresholdPercent, 0);

    public static RuleDefinition VolumeSurge(string name, string window, double factor, int lookback) =>
        new(name, RuleKind.VolumeSurge, window, ComparisonOp.GreaterOrEqual, factor, lookback);

    /// <summary>
    /// What a kind needs beyond op, threshold and lookback (say, an expression); null for the shipped kinds. Part of
    /// the definition's equality; a kind that uses it writes it into its fingerprint and YAML.
    /// </summary>
    public RuleSettings? Settings { get; init; }
}
