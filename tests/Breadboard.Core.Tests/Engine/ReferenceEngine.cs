using System.Globalization;
using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Rules;
using Breadboard.Core.Pipeline.Windows;

namespace Breadboard.Core.Tests.Engine;

/// <summary>
/// The engine contract written down as plainly as possible, to check <see cref="WindowEngine"/> against.
/// </summary>
/// <remarks>
/// Written from the contract, not from the engine: it keeps every taken tick, keeps each window as the list of
/// the ticks added to it, recomputes bars by brute force when a window closes, and scans everything on every tick.
/// Quadratic and proud of it; only for inputs of a few hundred ticks.
/// </remarks>
public sealed class ReferenceEngine
{
    private readonly PipelineDefinition _definition;
    private readonly IEngineOutput _output;

    // Every tick that was not dropped as a duplicate, late ones included; an index here is the arrival order.
    private readonly List<Tick> _taken = [];

    // Every window that ever received a tick; a window is open until it is emitted.
    private readonly List<Window> _windows = [];

    // Volumes of the bars a volume-surge rule has seen, per (symbol, rule index), oldest first.
    private readonly Dictionary<(string Symbol, int Rule), List<double>> _history = [];

    private long? _maxTs;

    public ReferenceEngine(PipelineDefinition definition, IEngineOutput output)
    {
        _definition = definition;
        _output = output;
    }

    public long Duplicates { get; private set; }

    public long Late { get; private set; }

    /// <summary>Highest ts seen minus out-of-orderness; −∞ (long.MinValue) before the first tick.</summary>
    public long Watermark => _maxTs is { } max ? max - _definition.OutOfOrdernessMs : long.MinValue;

    public TickOutcome Process(Tick tick)
    {
        if (IsDuplicate(tick))
        {
            Duplicates++;
            return TickOutcome.Duplicate;
        }

        var watermark = Watermark; // as it was before this tick
        var index = _taken.Count;
        _taken.Add(tick);

        var added = false;
        for (var d = 0; d < _definition.Windows.Count; d++)
        {
            added |= _definition.Windows[d].Kind == WindowKind.Session
                ? AddToSession(d, index, watermark)
                : AddToFixedWindows(d, index, watermark);
        }

        var outcome = TickOutcome.Accepted;
        if (!added)
        {
            Late++;
            _output.OnLate(in tick, watermark);
            outcome = TickOutcome.Late;
        }

        _maxTs = _maxTs is { } max ? Math.Max(max, tick.Ts) : tick.Ts;
        EmitClosed(Watermark);
        return outcome;
    }

    public void CloseAll() => EmitClosed(long.MaxValue);

    private bool IsDuplicate(Tick tick)
    {
        if (!tick.TradeId.HasValue || _maxTs is not { } max)
        {
            return false;
        }

        var oldestRemembered = max - _definition.DedupHorizonMs;
        return _taken.Any(t => t.Symbol == tick.Symbol && t.TradeId == tick.TradeId && t.Ts >= oldestRemembered);
    }

    private bool AddToFixedWindows(int d, int index, long watermark)
    {
        var def = _definition.Windows[d];
        var tick = _taken[index];
        var added = false;

        // Every multiple of the slide in (ts − size, ts], found by walking all multiples near ts.
        var first = FloorDiv(tick.Ts - def.SizeMs, def.SlideMs) - 1;
        var last = FloorDiv(tick.Ts, def.SlideMs) + 1;
        for (var k = first; k <= last; k++)
        {
            var start = k * def.SlideMs;
            if (start <= tick.Ts - def.SizeMs || start > tick.Ts)
            {
                continue;
            }

            var end = start + def.SizeMs;
            if (watermark >= end)
            {
                continue; // closed
            }

            var window = _windows.SingleOrDefault(w => w.Definition == d && w.Symbol == tick.Symbol && w.FixedStart == start);
            if (window is null)
            {
                window = new Window(tick.Symbol, d) { FixedStart = start, FixedEnd = end };
                _windows.Add(window);
            }

            if (window.Emitted)
            {
                throw new InvalidOperationException("the reference itself is wrong: a closed window was found open");
            }

            window.Members.Add(index);
            added = true;
        }

        return added;
    }

    private bool AddToSession(int d, int index, long watermark)
    {
        var gap = _definition.Windows[d].GapMs;
        var tick = _taken[index];
        var from = tick.Ts;
        var to = tick.Ts + gap;

        var overlapping = _windows
            .Where(w => !w.Emitted && w.Definition == d && w.Symbol == tick.Symbol)
            .Where(w => w.Start(this) < to && from < w.End(this))
            .ToList();
        if (overlapping.Count == 0)
        {
            if (to <= watermark)
            {
                return false;
            }

            var created = new Window(tick.Symbol, d);
            created.Members.Add(index);
            _windows.Add(created);
            return true;
        }

        var merged = new Window(tick.Symbol, d);
        foreach (var w in overlapping)
        {
            merged.Members.AddRange(w.Members);
            _windows.Remove(w);
        }

        merged.Members.Add(index);
        _windows.Add(merged);
        return true;
    }

    private void EmitClosed(long watermark)
    {
        var closing = _windows
            .Where(w => !w.Emitted && w.End(this) <= watermark)
            .OrderBy(w => w.End(this))
            .ThenBy(w => w.Definition)
            .ThenBy(w => w.Start(this))
            .ThenBy(w => w.Symbol, StringComparer.Ordinal)
            .ToList();
        foreach (var window in closing)
        {
            window.Emitted = true;
            var bar = BarOf(window);
            _output.OnBar(bar);
            for (var r = 0; r < _definition.Rules.Count; r++)
            {
                if (_definition.Rules[r].Window == bar.Window)
                {
                    Evaluate(r, bar);
                }
            }
        }
    }

    private Bar BarOf(Window window)
    {
        var ticks = window.Members.Order().Select(i => _taken[i]).ToList(); // arrival order
        var minTs = ticks.Min(t => t.Ts);
        var maxTs = ticks.Max(t => t.Ts);
        var volume = 0.0;
        var priceVolume = 0.0;
        foreach (var t in ticks)
        {
            volume += t.Volume;
            priceVolume += t.Price * t.Volume;
        }

        return new Bar(
            window.Symbol,
            _definition.Windows[window.Definition].Name,
            window.Start(this),
            window.End(this),
            Open: ticks.First(t => t.Ts == minTs).Price,
            High: ticks.Max(t => t.Price),
            Low: ticks.Min(t => t.Price),
            Close: ticks.Last(t => t.Ts == maxTs).Price,
            Volume: volume,
            Vwap: volume == 0 ? null : priceVolume / volume,
            Trades: ticks.Count);
    }

    private void Evaluate(int r, Bar bar)
    {
        var rule = _definition.Rules[r];
        double value;
        bool fires;
        if (rule.Kind == RuleKind.PriceChange)
        {
            value = (bar.Close - bar.Open) / bar.Open * 100;
            fires = rule.Op == ComparisonOp.LessOrEqual ? value <= rule.Threshold : value >= rule.Threshold;
        }
        else
        {
            if (!_history.TryGetValue((bar.Symbol, r), out var history))
            {
                history = [];
                _history.Add((bar.Symbol, r), history);
            }

            var previous = history.Skip(history.Count - rule.Lookback).ToList();
            history.Add(bar.Volume);
            if (previous.Count < rule.Lookback)
            {
                return;
            }

            var sum = 0.0;
            foreach (var v in previous)
            {
                sum += v;
            }

            var mean = sum / previous.Count;
            if (!(mean > 0))
            {
                return;
            }

            value = bar.Volume / mean;
            fires = value >= rule.Threshold;
        }

        if (fires)
        {
            _output.OnAlert(new Alert(
                string.Create(CultureInfo.InvariantCulture, $"{rule.Name}:{bar.Symbol}:{bar.Window}:{bar.WindowStart}"),
                rule.Name,
                bar.Symbol,
                bar.Window,
                bar.WindowStart,
                bar.WindowEnd,
                value,
                rule.Threshold,
                bar.WindowEnd));
        }
    }

    private static long FloorDiv(long a, long b) => (long)Math.Floor((double)a / b);

    private sealed class Window(string symbol, int definition)
    {
        public string Symbol { get; } = symbol;

        public int Definition { get; } = definition;

        public List<int> Members { get; } = [];

        public bool Emitted { get; set; }

        public long FixedStart { get; init; } = long.MinValue;

        public long FixedEnd { get; init; } = long.MinValue;

        private bool IsSession => FixedEnd == long.MinValue;

        public long Start(ReferenceEngine engine) =>
            IsSession ? Members.Min(i => engine._taken[i].Ts) : FixedStart;

        public long End(ReferenceEngine engine) =>
            IsSession ? Members.Max(i => engine._taken[i].Ts) + engine._definition.Windows[Definition].GapMs : FixedEnd;
    }
}
