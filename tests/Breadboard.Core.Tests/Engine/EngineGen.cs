using System.Globalization;
using System.Text;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using CsCheck;

namespace Breadboard.Core.Tests.Engine;

/// <summary>CsCheck generators of awkward tick streams and pipeline definitions.</summary>
public static class EngineGen
{
    // Arrival order (ZED first) differs from ordinal order (ABC first), so symbol ordering is exercised.
    private static readonly string[] Symbols = ["ZED", "ABC", "m-x"];

    // Moves of ±5 % and more between them so price rules fire; some prices are not exact binary fractions.
    private static readonly double[] Prices = [100, 95, 105, 94.99, 105.01, 100.1, 90, 111, 99.99, 100.5];

    // Exact binary fractions, so sums do not depend on their order and volume-surge thresholds cannot flip.
    private static readonly double[] Volumes = [0, 0, 0.25, 1, 2, 2.5, 10, 100];

    /// <summary>Steps between consecutive ticks: ties, small moves, jumps near the 30 s session gap, moves back, big jumps.</summary>
    private static readonly Gen<long> Step = Gen.Frequency(
        (5, Gen.Long[0, 2_000]),
        (2, Gen.Const(0L)),
        (2, Gen.OneOf(29_999L, 30_000L, 30_001L)),
        (3, Gen.Long[-20_000, -1]),
        (3, Gen.Long[2_000, 70_000]),
        (1, Gen.Long[60_000, 400_000]));

    // −1: no id; 0-7: numeric ids; 8: the text "7" (the same id as 7); 9, 10: text ids; 11: "007", not 7.
    private static readonly Gen<int> IdCode = Gen.Frequency((4, Gen.Const(-1)), (6, Gen.Int[0, 11]));

    /// <summary>One tick of a stream, relative to the one before it.</summary>
    public sealed record TickStep(int Symbol, long Step, int Price, int Volume, int Id);

    public static readonly Gen<TickStep[]> Steps =
        Gen.Int[1, 3].SelectMany(symbols =>
            Gen.Select(Gen.Int[0, symbols - 1], Step, Gen.Int[0, Prices.Length - 1], Gen.Int[0, Volumes.Length - 1], IdCode)
                .Select((s, step, p, v, id) => new TickStep(s, step, p, v, id))
                .Array[0, 80]);

    /// <summary>Where streams start: mostly a realistic time, sometimes the epoch itself, where windows start before 0.</summary>
    private static readonly Gen<long> Origin = Gen.Frequency((5, Gen.Const(Kit.T0)), (1, Gen.OneOf(0L, 700L)));

    public static Tick[] ToTicks(long origin, TickStep[] steps)
    {
        var ticks = new Tick[steps.Length];
        var ts = origin;
        for (var i = 0; i < steps.Length; i++)
        {
            var s = steps[i];
            ts = Math.Max(0, ts + s.Step);
            var symbol = Symbols[s.Symbol];
            var id = s.Id switch
            {
                < 0 => TradeId.None,
                <= 7 => TradeId.FromNumber(s.Id),
                8 => TradeId.FromText("7"),
                9 => TradeId.FromText("x"),
                10 => TradeId.FromText("y"),
                _ => TradeId.FromText("007"),
            };
            ticks[i] = new Tick(symbol, ts, Prices[s.Price], Volumes[s.Volume], id, null, AssetClasses.Infer(symbol));
        }

        return ticks;
    }

    public static readonly Gen<Tick[]> Ticks = Gen.Select(Origin, Steps).Select(ToTicks);

    private static readonly Gen<WindowDefinition> Window = Gen.Frequency(
        (1, Gen.OneOf(1_000L, 5_000L, 10_000L, 60_000L).Select(size => WindowDefinition.Tumbling("?", size))),
        (1, Gen.Select(Gen.OneOf(1_000L, 5_000L, 20_000L, 60_000L), Gen.Int[1, 5]).Select((slide, k) => WindowDefinition.Hopping("?", slide * k, slide))),
        (1, Gen.OneOf(1_000L, 5_000L, 29_999L, 30_000L, 30_001L).Select(gap => WindowDefinition.Session("?", gap))));

    private sealed record RuleSpec(int Window, bool Surge, bool AtMost, double Threshold, double Factor, int Lookback);

    private static readonly Gen<RuleSpec> Rule =
        Gen.Select(Gen.Int[0, 2], Gen.Bool, Gen.Bool, Gen.OneOf(-10.0, -5.0, -1.0, 0.0, 1.0, 5.0), Gen.OneOf(1.0, 2.0, 5.0), Gen.Int[1, 3])
            .Select((w, surge, atMost, threshold, factor, lookback) => new RuleSpec(w, surge, atMost, threshold, factor, lookback));

    /// <summary>Random but valid definitions: 1-3 windows of any kind, small surge lookbacks, tolerances from none to generous.</summary>
    public static readonly Gen<PipelineDefinition> Definition =
        Gen.Select(Window.Array[1, 3], Gen.OneOf(0L, 1_000L, 5_000L, 15_000L), Gen.OneOf(0L, 1_000L, 10_000L, 60_000L, 600_000L), Rule.Array[0, 3])
            .Select((windows, ooo, dedup, rules) =>
            {
                var named = windows.Select((w, i) => w with { Name = $"w{i}" }).ToArray();
                return new PipelineDefinition
                {
                    OutOfOrdernessMs = ooo,
                    DedupHorizonMs = dedup,
                    Windows = named,
                    Aggregates = Enum.GetValues<Aggregate>(),
                    Rules = [.. rules.Select((r, i) => r.Surge
                        ? RuleDefinition.VolumeSurge($"r{i}", named[r.Window % named.Length].Name, r.Factor, r.Lookback)
                        : RuleDefinition.PriceChange($"r{i}", named[r.Window % named.Length].Name, r.AtMost ? ComparisonOp.LessOrEqual : ComparisonOp.GreaterOrEqual, r.Threshold))],
                };
            });

    /// <summary>A failing input as something to paste into a unit test.</summary>
    public static string Print(PipelineDefinition definition, IEnumerable<Tick> ticks)
    {
        var sb = new StringBuilder();
        sb.AppendLine(definition.Fingerprint());
        foreach (var t in ticks)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  Tick(\"{t.Symbol}\", T0 + {t.Ts - Kit.T0}, {t.Price}, {t.Volume}, id: {(t.TradeId.HasValue ? t.TradeId.IsNumber ? t.TradeId.Number.ToString(CultureInfo.InvariantCulture) : $"\"{t.TradeId}\"" : "none")})");
        }

        return sb.ToString();
    }
}
