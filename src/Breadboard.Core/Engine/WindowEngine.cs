using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Indicators;
using Breadboard.Core.Pipeline.Windows;

namespace Breadboard.Core.Engine;

/// <summary>
/// The local engine: runs a <see cref="PipelineDefinition"/> over ticks in event time, emitting each closed
/// window's bar once, the alerts its rules fire, and late ticks.
/// </summary>
/// <remarks>
/// <para>The contract, pinned by tests and shared with every other engine:</para>
/// <list type="bullet">
/// <item>Ticks are taken in input order. A tick with a trade id is a duplicate when a tick of the same symbol and
/// trade id was taken before and that earlier tick's ts is no older than the dedup horizon behind the highest ts
/// seen before it; duplicates are dropped and counted and change nothing else.</item>
/// <item>Watermark W = highest ts seen − out-of-orderness, advanced after each tick. A window [start, end) closes
/// once W ≥ end. A tick is added to each of its windows that is still open (W before the tick &lt; end); a tick
/// added to none is late and goes to <see cref="IEngineOutput.OnLate"/>.</item>
/// <item>Tumbling and hopping windows are aligned to the epoch. A session tick opens [ts, ts + gap) and merges with
/// every open session of its symbol it overlaps; a session spans first ts to last ts + gap.</item>
/// <item>Bars close in order of (window_end, window definition, window_start, symbol). Rules run on each closed bar
/// in definition order. End of input (<see cref="CloseAll"/>) closes every window.</item>
/// <item>Before all that, a tick is refused (<see cref="IEngineOutput.OnReject"/>) when its price or volume is
/// outside <see cref="TickLimits"/>, when one of its windows would end after year 9999, or when it is further
/// ahead of the wall clock than <see cref="FutureGuard.ClockSkewMs"/> (only with a clock: live faces). A tick
/// further ahead of the watermark than <see cref="FutureGuard.MaxJumpMs"/> is held: once
/// <see cref="FutureGuard.Confirm"/> ticks are held, the jump is real and they are taken, in arrival order, each
/// checked again against the lower median of their times; once that many ticks after the first held one were not
/// ahead, the held ticks are refused. End of input takes the held ticks. Refused and held ticks change nothing
/// else, so one bad clock cannot make every later tick late.</item>
/// </list>
/// <para>Not thread-safe: one thread drives an engine.</para>
/// </remarks>
public sealed partial class WindowEngine
{
    private PipelineDefinition _definition;
    private string _digest;

    // The definition as YAML, for checkpoints; written on the first save after a (re)configuration.
    private string? _yaml;
    private readonly IEngineOutput _output;
    private readonly WindowDefinition[] _windows;
    private readonly WindowAssignment[] _assignment;
    private RuleDefinition[] _rules;
    private int[] _ruleWindow;
    private IndicatorLayout _indicators;

    // Per window index: the indicators its closed bars update, in definition order.
    private int[][] _windowIndicators;

    // Per window index: closed bars each symbol keeps for a reload to warm up from (RecentBars).
    private int[] _retained;
    private readonly long _outOfOrderness;
    private readonly long _dedupHorizon;
    private readonly Dictionary<string, SymbolState> _symbols = new(StringComparer.Ordinal);
    private readonly PriorityQueue<WindowState, TimerKey> _timers = new(TimerKeyComparer.Instance);
    private readonly FutureGuard _future;
    private readonly TimeProvider? _clock;
    private readonly long _latestTs;
    private readonly List<HeldTick> _held = [];

    private long _maxTs = long.MinValue;
    private long _watermark = long.MinValue;
    private bool _finished;

    // The wall clock as last read: read again only for a tick that seems ahead of it, so not once per tick.
    private long _clockMs = long.MinValue;

    // Ticks after the first held one that were not ahead; at Confirm the held ticks are refused.
    private int _contradictions;

    // Where the last confirmed jump landed: the jump check measures from here while the watermark is behind it.
    private long _jumpFloor = long.MinValue;

    // The position given with the tick being processed: a held tick is taken at this one's.
    private long _position;

    /// <param name="wallClock">
    /// The clock that <see cref="FutureGuard.ClockSkewMs"/> measures from, for live faces; null (replays,
    /// backtests) never reads a clock, so the output depends on the input alone.
    /// </param>
    public WindowEngine(PipelineDefinition definition, IEngineOutput output, TimeProvider? wallClock = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(output);
        _definition = definition;
        _digest = definition.Digest();
        _output = output;
        _windows = [.. definition.Windows];
        _assignment = new WindowAssignment[_windows.Length];
        for (var w = 0; w < _windows.Length; w++)
        {
            _assignment[w] = _windows[w].Kind.Assignment;
        }

        (_rules, _ruleWindow, _indicators, _windowIndicators) = RulesAndIndicators(definition);
        _retained = Retained(definition);
        _outOfOrderness = definition.OutOfOrdernessMs;
        _dedupHorizon = definition.DedupHorizonMs;
        _future = definition.Future;
        _clock = wallClock;
        _latestTs = definition.LatestTickMs;
    }

    /// <summary>The definition the engine runs: the one it was built with, or the last <see cref="Reconfigure"/> gave it.</summary>
    public PipelineDefinition Definition => _definition;

    /// <summary>
    /// Runs <paramref name="next"/>'s rules and indicators from the next bar that closes (a live reload): open
    /// windows, the watermark and the trade ids stay; rules and indicators that did not change keep their state
    /// (<see cref="PipelineChange"/>), the others start afresh. Alerts from then on carry the new digest.
    /// </summary>
    /// <exception cref="ArgumentException">Something other than rules and indicators changed; the message names it, and nothing changed.</exception>
    public PipelineChange Reconfigure(PipelineDefinition next)
    {
        var change = PipelineChange.Between(_definition, next);
        var (rules, ruleWindow, layout, windowIndicators) = RulesAndIndicators(next);
        foreach (var state in _symbols.Values)
        {
            var ruleStates = new Pipeline.Rules.RuleState?[rules.Length];
            for (var r = 0; r < rules.Length; r++)
            {
                ruleStates[r] = change.RuleFrom[r] is var from and >= 0 ? state.RuleStates[from] : null;
            }

            state.RuleStates = ruleStates;
            state.Indicators = layout.Width == 0 ? null : layout.CarryOver(state.Indicators, _indicators, change.IndicatorFrom);
            for (var w = 0; w < _windows.Length; w++)
            {
                WarmUp(state, w, change, rules, ruleWindow, layout, windowIndicators[w]);
            }
        }

        (_definition, _digest, _yaml, _rules, _ruleWindow, _indicators, _windowIndicators) = (next, next.Digest(), null, rules, ruleWindow, layout, windowIndicators);
        _retained = Retained(next);
        return change;
    }

    /// <summary>
    /// Gives the rules and indicators of window <paramref name="w"/> that start afresh the symbol's recent bars, as
    /// if they had run on them: indicators take them, rules are evaluated on them (firing nothing), so that from the
    /// next bar on they fire as a run of the new definition would. Indicators that kept their state are recomputed
    /// alongside, for the rules to read, but keep their own state.
    /// </summary>
    private static void WarmUp(SymbolState state, int w, PipelineChange change, RuleDefinition[] rules, int[] ruleWindow, IndicatorLayout layout, int[] indicators)
    {
        var freshIndicators = indicators.Where(i => change.IndicatorFrom[i] < 0).ToArray();
        var freshRules = Enumerable.Range(0, rules.Length).Where(r => ruleWindow[r] == w && change.RuleFrom[r] < 0).ToArray();
        if ((freshIndicators.Length == 0 && freshRules.Length == 0) || state.Recent[w].Count == 0)
        {
            return;
        }

        var shadow = layout.CreateSymbol();
        foreach (var bar in state.Recent[w].OldestFirst())
        {
            layout.Update(indicators, bar, shadow);
            foreach (var r in freshRules)
            {
                rules[r].Kind.Evaluate(rules[r], bar, shadow.Values, ref state.RuleStates[r], out _, out _);
            }
        }

        foreach (var i in freshIndicators)
        {
            state.Indicators!.States[i] = shadow.States[i];
            var offset = layout.Offset(i);
            shadow.Values.AsSpan(offset, layout.Indicators[i].Kind.Outputs.Count).CopyTo(state.Indicators.Values.AsSpan(offset));
        }
    }

    /// <summary>Bars kept per symbol and window: what the definition needs to warm up, and at least <see cref="MinRecentBars"/>.</summary>
    private int[] Retained(PipelineDefinition definition)
    {
        var retained = new int[_windows.Length];
        for (var w = 0; w < _windows.Length; w++)
        {
            retained[w] = (int)Math.Clamp(definition.WarmupBars(_windows[w].Name), MinRecentBars, PipelineLoader.MaxHistoryPerSymbol);
        }

        return retained;
    }

    /// <summary>
    /// Takes a bar of the symbol that closed before (from the store, after a restore) into the recent bars a
    /// reload warms up from. Give them oldest first; the engine emits nothing.
    /// </summary>
    public void RememberBar(Bar bar)
    {
        ArgumentNullException.ThrowIfNull(bar);
        var w = Array.FindIndex(_windows, d => d.Name == bar.Window);
        if (w >= 0)
        {
            SymbolOf(bar.Symbol).Recent[w].Add(bar, _retained[w]);
        }
    }

    private (RuleDefinition[] Rules, int[] RuleWindow, IndicatorLayout Indicators, int[][] WindowIndicators) RulesAndIndicators(PipelineDefinition definition)
    {
        RuleDefinition[] rules = [.. definition.Rules];
        var ruleWindow = new int[rules.Length];
        for (var r = 0; r < rules.Length; r++)
        {
            ruleWindow[r] = Array.FindIndex(_windows, w => w.Name == rules[r].Window);
            if (ruleWindow[r] < 0)
            {
                throw new ArgumentException($"rule '{rules[r].Name}' names window '{rules[r].Window}', which the pipeline does not define", nameof(definition));
            }
        }

        var indicators = definition.IndicatorLayout;
        var windowIndicators = new int[_windows.Length][];
        for (var w = 0; w < _windows.Length; w++)
        {
            windowIndicators[w] = indicators.OfWindow(_windows[w].Name);
        }

        return (rules, ruleWindow, indicators, windowIndicators);
    }

    /// <summary>Closed bars kept per symbol and window at the least, for a reload to warm new rules and indicators up from.</summary>
    public const int MinRecentBars = 100;

    /// <summary>The current watermark in epoch ms; <see cref="long.MinValue"/> before the first tick.</summary>
    public long Watermark => _watermark;

    /// <summary>Ticks given to <see cref="Process"/>, duplicates and late ones included.</summary>
    public long Ticks { get; private set; }

    public long Duplicates { get; private set; }

    public long Late { get; private set; }

    public long BarsEmitted { get; private set; }

    public long AlertsEmitted { get; private set; }

    /// <summary>Ticks refused (<see cref="IEngineOutput.OnReject"/>), future ones included.</summary>
    public long Refused { get; private set; }

    /// <summary>Ticks refused as being from the future: ahead of the wall clock, or a jump later ticks contradicted.</summary>
    public long RefusedFuture { get; private set; }

    /// <summary>Ticks held right now, waiting for later ticks to confirm or contradict their jump ahead.</summary>
    public int Held => _held.Count;

    /// <summary>Windows currently open, across symbols.</summary>
    public int OpenWindows { get; private set; }

    /// <summary>Feeds one tick; emits, before returning, every window the advanced watermark closes.</summary>
    /// <param name="position">Handed back with the tick to <see cref="IEngineOutput.OnTick"/> or <see cref="IEngineOutput.OnReject"/>.</param>
    /// <exception cref="InvalidOperationException">After <see cref="CloseAll"/>: closed windows must not be emitted twice.</exception>
    public TickOutcome Process(in Tick tick, long position = 0)
    {
        if (_finished)
        {
            throw new InvalidOperationException("the engine has closed all windows (end of input) and takes no more ticks");
        }

        Ticks++;
        _position = position;
        if (Refusal(in tick, out var future) is { } reason)
        {
            Refuse(in tick, position, reason, future);
            return TickOutcome.Refused;
        }

        return Guard(in tick, position);
    }

    /// <summary>Why a tick cannot be taken at all, whatever came before it; null when it can.</summary>
    private string? Refusal(in Tick tick, out bool future)
    {
        future = false;
        if (TickLimits.Check(tick.Price, tick.Volume) is { } reason)
        {
            return reason;
        }

        if (tick.Ts < EventTime.MinMs || tick.Ts > _latestTs)
        {
            return $"field 'ts' must be from {EventTime.ToIso(EventTime.MinMs)} to {EventTime.ToIso(_latestTs)}, so that every window of the pipeline ends before year 10000 (got {Describe(tick.Ts)})";
        }

        if (_clock is not null && _future.ClockSkewMs > 0 && tick.Ts - _future.ClockSkewMs > _clockMs)
        {
            _clockMs = _clock.GetUtcNow().ToUnixTimeMilliseconds();
            if (tick.Ts - _future.ClockSkewMs > _clockMs)
            {
                future = true;
                return $"ts {EventTime.ToIso(tick.Ts)} is {DurationText.Approximate(tick.Ts - _clockMs)} ahead of the wall clock ({EventTime.ToIso(_clockMs)}); future.clock_skew allows {DurationText.Format(_future.ClockSkewMs)}";
            }
        }

        return null;
    }

    /// <summary>Takes a tick unless it jumps too far ahead of the watermark, which holds it instead.</summary>
    private TickOutcome Guard(in Tick tick, long position)
    {
        if (IsJump(tick.Ts))
        {
            _held.Add(new HeldTick(tick, position));
            if (_held.Count >= _future.Confirm)
            {
                ConfirmHeld();
            }

            return TickOutcome.Held;
        }

        var outcome = Take(in tick);
        if (_held.Count > 0 && ++_contradictions >= _future.Confirm)
        {
            RefuseHeld();
        }

        return outcome;
    }

    private bool IsJump(long ts) =>
        _future.MaxJumpMs > 0 && _future.Confirm > 1 && _watermark != long.MinValue
        && ts - Math.Max(_watermark, _jumpFloor) > _future.MaxJumpMs;

    /// <summary>Enough ticks jumped together: the jump is real. Each is taken, or held again if far beyond the others.</summary>
    private void ConfirmHeld()
    {
        var held = _held.ToArray();
        _held.Clear();
        _contradictions = 0;
        var times = new long[held.Length];
        for (var i = 0; i < held.Length; i++)
        {
            times[i] = held[i].Tick.Ts;
        }

        Array.Sort(times);
        _jumpFloor = Math.Max(_jumpFloor, times[(times.Length - 1) / 2]);
        foreach (var h in held)
        {
            Guard(h.Tick, h.Position);
        }
    }

    /// <summary>The ticks after the held ones did not follow them: they carry a bad clock.</summary>
    private void RefuseHeld()
    {
        foreach (var h in _held)
        {
            var reason = $"ts {EventTime.ToIso(h.Tick.Ts)} jumped more than future.max_jump ({DurationText.Format(_future.MaxJumpMs)}) ahead of the watermark ({EventTime.ToIso(_watermark)}), and the {_future.Confirm} ticks after it did not follow";
            Refuse(h.Tick, h.Position, reason, future: true);
        }

        _held.Clear();
        _contradictions = 0;
    }

    private void Refuse(in Tick tick, long position, string reason, bool future)
    {
        Refused++;
        if (future)
        {
            RefusedFuture++;
        }

        _output.OnReject(in tick, position, reason);
    }

    /// <summary>A time for a message, even one that no date can show.</summary>
    private static string Describe(long ts) =>
        ts is >= -62_135_596_800_000 and <= EventTime.MaxMs ? EventTime.ToIso(ts) : $"{ts} ms after 1970";

    private TickOutcome Take(in Tick tick)
    {
        var state = SymbolOf(tick.Symbol);

        if (tick.TradeId.HasValue && IsDuplicate(state, tick.TradeId, tick.Ts))
        {
            Duplicates++;
            return TickOutcome.Duplicate;
        }

        var added = false;
        for (var w = 0; w < _windows.Length; w++)
        {
            added |= _assignment[w] switch
            {
                WindowAssignment.Aligned => AddToFixedWindows(state, w, in tick),
                WindowAssignment.Session => AddToSession(state, w, in tick),
                _ => UnknownAssignment(w),
            };
        }

        TickOutcome outcome;
        if (added)
        {
            outcome = TickOutcome.Accepted;
        }
        else
        {
            Late++;
            _output.OnLate(in tick, _watermark);
            outcome = TickOutcome.Late;
        }

        AdvanceTo(tick.Ts);
        _output.OnTick(in tick, _position);
        return outcome;
    }

    // Out of the per-tick loop, so that the loop stays small; unreachable while every WindowAssignment has a case above.
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private bool UnknownAssignment(int w) =>
        throw new InvalidOperationException($"window '{_windows[w].Name}': the engine cannot assign ticks by {_assignment[w]}");

    /// <summary>
    /// The bar so far of the most recently started open window of <paramref name="window"/> for
    /// <paramref name="symbol"/>, for live charts; null when none is open. Allocates the returned bar.
    /// </summary>
    public Bar? PeekOpenBar(string symbol, string window)
    {
        var w = Array.FindIndex(_windows, d => d.Name == window);
        if (w < 0 || !_symbols.TryGetValue(symbol, out var state) || state.Open[w].Count == 0)
        {
            return null;
        }

        return ToBar(state.Open[w][^1]);
    }

    /// <summary>
    /// Moves event time forward without a tick, as if one at <paramref name="ts"/> had arrived: the watermark
    /// advances and the windows it passes close. For a source that has gone idle, so its windows do not wait for
    /// the next trade forever; a no-op when <paramref name="ts"/> is not beyond the highest ts seen.
    /// </summary>
    public void AdvanceEventTime(long ts)
    {
        if (!_finished)
        {
            AdvanceTo(ts);
        }
    }

    /// <summary>Raises the highest event time seen to <paramref name="ts"/>, moving the watermark and closing what it passes.</summary>
    private void AdvanceTo(long ts)
    {
        if (ts > _maxTs)
        {
            _maxTs = ts;
            _watermark = ts - _outOfOrderness;
            CloseUpTo(_watermark);
        }
    }

    /// <summary>The highest event time seen (or advanced to); <see cref="long.MinValue"/> before the first tick.</summary>
    public long MaxEventTime => _maxTs;

    /// <summary>End of input: takes the held ticks (nothing follows them to contradict their jump), then closes every open window, in the usual order.</summary>
    public void CloseAll()
    {
        foreach (var h in _held)
        {
            Take(h.Tick);
        }

        _held.Clear();
        _contradictions = 0;
        _finished = true;
        CloseUpTo(long.MaxValue);
    }

    private SymbolState SymbolOf(string symbol)
    {
        if (!_symbols.TryGetValue(symbol, out var state))
        {
            state = new SymbolState(symbol, _windows.Length, _rules.Length, _indicators.Width == 0 ? null : _indicators.CreateSymbol());
            _symbols.Add(symbol, state);
        }

        return state;
    }

    private bool IsDuplicate(SymbolState state, TradeId id, long ts)
    {
        // Entries older than this are expired: forgotten, whether or not they have been evicted yet.
        var oldestKept = _maxTs == long.MinValue ? long.MinValue : _maxTs - _dedupHorizon;
        if (state.Seen.TryGetValue(id, out var seenTs) && seenTs >= oldestKept)
        {
            return true;
        }

        state.Seen[id] = ts;
        state.SeenOrder.Enqueue((id, ts));
        EvictExpired(state, oldestKept);
        return false;
    }

    private static void EvictExpired(SymbolState state, long oldestKept)
    {
        // Ids arrive roughly in ts order, so expired ones gather at the front of the queue; an out-of-order id
        // behind a fresher one is evicted a little later, which costs memory, never correctness.
        while (state.SeenOrder.TryPeek(out var front) && front.Ts < oldestKept)
        {
            state.SeenOrder.Dequeue();
            if (state.Seen.TryGetValue(front.Id, out var ts) && ts == front.Ts)
            {
                state.Seen.Remove(front.Id);
            }
        }
    }

    private bool AddToFixedWindows(SymbolState state, int w, in Tick tick)
    {
        var def = _windows[w];
        var open = state.Open[w];
        var added = false;

        // The windows holding ts start at multiples of the slide in (ts − size, ts].
        var lastStart = FloorTo(tick.Ts, def.SlideMs);
        for (var start = lastStart; start > tick.Ts - def.SizeMs; start -= def.SlideMs)
        {
            var end = start + def.SizeMs;
            if (_watermark >= end)
            {
                break; // this window has closed, and so have all that start earlier
            }

            FindOrOpen(state, open, w, start, end).Add(tick.Ts, tick.Price, tick.Volume);
            added = true;
        }

        return added;
    }

    private WindowState FindOrOpen(SymbolState state, List<WindowState> open, int w, long start, long end)
    {
        var at = 0;
        for (; at < open.Count; at++)
        {
            var candidate = open[at];
            if (candidate.Start == start)
            {
                return candidate;
            }

            if (candidate.Start > start)
            {
                break;
            }
        }

        var created = new WindowState { Owner = state, WindowIndex = w, Start = start, End = end };
        Open(open, at, created);
        return created;
    }

    private bool AddToSession(SymbolState state, int w, in Tick tick)
    {
        var gap = _windows[w].GapMs;
        var open = state.Open[w];
        var from = tick.Ts;
        var to = tick.Ts + gap;

        // Open sessions are disjoint and sorted by start: the ones [from, to) overlaps form a contiguous run.
        var first = -1;
        var last = -1;
        for (var i = 0; i < open.Count; i++)
        {
            var s = open[i];
            if (s.Start < to && from < s.End)
            {
                if (first < 0)
                {
                    first = i;
                }

                last = i;
            }
            else if (s.Start >= to)
            {
                break;
            }
        }

        if (first < 0)
        {
            if (_watermark >= to)
            {
                return false; // its own session would already be closed
            }

            var at = 0;
            while (at < open.Count && open[at].Start < from)
            {
                at++;
            }

            var created = new WindowState { Owner = state, WindowIndex = w, Start = from, End = to };
            created.Add(tick.Ts, tick.Price, tick.Volume);
            Open(open, at, created);
            return true;
        }

        var target = open[first];
        for (var i = last; i > first; i--)
        {
            var absorbed = open[i];
            target.Merge(absorbed);
            absorbed.Closed = true; // its timer is now stale
            open.RemoveAt(i);
            OpenWindows--;
        }

        target.Start = Math.Min(target.Start, from);
        target.End = Math.Max(target.End, to);
        target.Add(tick.Ts, tick.Price, tick.Volume);
        if (target.Start != target.TimerStart)
        {
            // The start is part of the close order; a growing end is handled lazily when the timer pops.
            Arm(target);
        }

        return true;
    }

    private void Open(List<WindowState> open, int at, WindowState window)
    {
        open.Insert(at, window);
        OpenWindows++;
        Arm(window);
    }

    private void Arm(WindowState window)
    {
        window.TimerStart = window.Start;
        window.TimerEnd = window.End;
        _timers.Enqueue(window, new TimerKey(window.End, window.WindowIndex, window.Start, window.Owner.Symbol));
    }

    private void CloseUpTo(long watermark)
    {
        while (_timers.TryPeek(out var window, out var key) && key.End <= watermark)
        {
            _timers.Dequeue();
            if (window.Closed || key.Start != window.TimerStart || key.End != window.TimerEnd)
            {
                continue; // stale: merged away, or re-armed under another key
            }

            if (window.End != key.End)
            {
                Arm(window); // the session grew since it was armed; it closes in its new place in the order
                continue;
            }

            Emit(window);
        }
    }

    private void Emit(WindowState window)
    {
        window.Closed = true;
        OpenWindows--;
        var state = window.Owner;
        state.Open[window.WindowIndex].Remove(window);

        var bar = ToBar(window);
        BarsEmitted++;
        _output.OnBar(bar);
        state.Recent[window.WindowIndex].Add(bar, _retained[window.WindowIndex]);

        var indicators = _windowIndicators[window.WindowIndex];
        if (indicators.Length > 0)
        {
            _indicators.Update(indicators, bar, state.Indicators!);
        }

        for (var r = 0; r < _rules.Length; r++)
        {
            if (_ruleWindow[r] == window.WindowIndex)
            {
                Evaluate(r, state, bar);
            }
        }
    }

    private Bar ToBar(WindowState window) => new(
        window.Owner.Symbol,
        _windows[window.WindowIndex].Name,
        window.Start,
        window.End,
        window.Open,
        window.High,
        window.Low,
        window.Close,
        window.Volume,
        window.Volume == 0 ? null : window.PriceVolume / window.Volume,
        window.Trades);

    private void Evaluate(int r, SymbolState state, Bar bar)
    {
        var rule = _rules[r];
        if (!rule.Kind.Evaluate(rule, bar, state.Indicators is { } i ? i.Values : [], ref state.RuleStates[r], out var value, out var threshold))
        {
            return;
        }

        AlertsEmitted++;
        _output.OnAlert(new Alert(
            Alert.MakeId(rule.Name, bar.Symbol, bar.Window, bar.WindowStart),
            rule.Name,
            bar.Symbol,
            bar.Window,
            bar.WindowStart,
            bar.WindowEnd,
            value,
            threshold,
            bar.WindowEnd,
            _digest));
    }

    private static long FloorTo(long value, long step)
    {
        var r = value % step;
        return r < 0 ? value - r - step : value - r;
    }

    private readonly record struct TimerKey(long End, int Window, long Start, string Symbol);

    private readonly record struct HeldTick(Tick Tick, long Position);

    private sealed class TimerKeyComparer : IComparer<TimerKey>
    {
        public static readonly TimerKeyComparer Instance = new();

        public int Compare(TimerKey x, TimerKey y)
        {
            var c = x.End.CompareTo(y.End);
            if (c != 0)
            {
                return c;
            }

            c = x.Window.CompareTo(y.Window);
            if (c != 0)
            {
                return c;
            }

            c = x.Start.CompareTo(y.Start);
            return c != 0 ? c : string.CompareOrdinal(x.Symbol, y.Symbol);
        }
    }
}
