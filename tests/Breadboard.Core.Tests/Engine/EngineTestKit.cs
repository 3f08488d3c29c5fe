using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;

namespace Breadboard.Core.Tests.Engine;

/// <summary>A late tick as the engine reported it.</summary>
public sealed record LateTick(Tick Tick, long Watermark);

/// <summary>A tick the engine refused, as it reported it.</summary>
public sealed record RefusedTick(Tick Tick, long Position, string Reason);

/// <summary>Records everything an engine emits, in order.</summary>
public sealed class CollectingOutput : IEngineOutput
{
    /// <summary>Bars, alerts, late and refused ticks interleaved exactly as they were emitted.</summary>
    public List<object> Events { get; } = [];

    /// <summary>The ticks the engine took, with the position it gave for each, in the order it took them.</summary>
    public List<(Tick Tick, long Position)> Taken { get; } = [];

    public IReadOnlyList<RefusedTick> Refusals => [.. Events.OfType<RefusedTick>()];

    public IReadOnlyList<Bar> Bars => [.. Events.OfType<Bar>()];

    public IReadOnlyList<Alert> Alerts => [.. Events.OfType<Alert>()];

    public IReadOnlyList<LateTick> LateTicks => [.. Events.OfType<LateTick>()];

    public void OnBar(Bar bar) => Events.Add(bar);

    public void OnAlert(Alert alert) => Events.Add(alert);

    public void OnLate(in Tick tick, long watermark) => Events.Add(new LateTick(tick, watermark));

    public void OnTick(in Tick tick, long position) => Taken.Add((tick, position));

    public void OnReject(in Tick tick, long position, string reason) => Events.Add(new RefusedTick(tick, position, reason));
}

/// <summary>Small builders that keep hand-written engine tests short.</summary>
public static class Kit
{
    /// <summary>2026-01-02T14:30:00Z: a multiple of one and of five minutes.</summary>
    public const long T0 = 1_767_364_200_000;

    public const long Second = 1_000;

    public const long Minute = 60_000;

    public static Tick Tick(string symbol, long ts, double price, double volume = 1, long? id = null) =>
        new(symbol, ts, price, volume, id is { } n ? TradeId.FromNumber(n) : TradeId.None, null, AssetClasses.Infer(symbol));

    public static Tick Tick(string symbol, long ts, double price, double volume, string id) =>
        new(symbol, ts, price, volume, TradeId.FromText(id), null, AssetClasses.Infer(symbol));

    public static PipelineDefinition Definition(
        long outOfOrdernessMs,
        IReadOnlyList<WindowDefinition> windows,
        IReadOnlyList<RuleDefinition>? rules = null,
        long dedupHorizonMs = 600_000) => new()
        {
            OutOfOrdernessMs = outOfOrdernessMs,
            DedupHorizonMs = dedupHorizonMs,
            Windows = windows,
            Aggregates = Enum.GetValues<Aggregate>(),
            Rules = rules ?? [],
        };

    /// <summary>One tumbling 1m window, 5 s out-of-orderness, no rules.</summary>
    public static PipelineDefinition OneMinute(long outOfOrdernessMs = 5_000, long dedupHorizonMs = 600_000) =>
        Definition(outOfOrdernessMs, [WindowDefinition.Tumbling("1m", Minute)], dedupHorizonMs: dedupHorizonMs);

    /// <summary>One 30 s session window.</summary>
    public static PipelineDefinition Sessions(long outOfOrdernessMs) =>
        Definition(outOfOrdernessMs, [WindowDefinition.Session("session", 30_000)]);

    public static (WindowEngine Engine, CollectingOutput Output) NewEngine(PipelineDefinition definition)
    {
        var output = new CollectingOutput();
        return (new WindowEngine(definition, output), output);
    }

    public static TickOutcome[] Feed(this WindowEngine engine, params Tick[] ticks)
    {
        var outcomes = new TickOutcome[ticks.Length];
        for (var i = 0; i < ticks.Length; i++)
        {
            outcomes[i] = engine.Process(in ticks[i]);
        }

        return outcomes;
    }
}
