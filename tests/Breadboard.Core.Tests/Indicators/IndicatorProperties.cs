using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Indicators;
using Breadboard.Core.Pipeline.Rules;
using Breadboard.Core.Tests.Engine;
using CsCheck;

namespace Breadboard.Core.Tests.Indicators;

/// <summary>
/// The engine's indicators and expression rules against <see cref="NaiveIndicators"/> and <see cref="NaiveRules"/>
/// on random tick streams, random indicator sets and random expressions: the same alerts, bar for bar, exactly.
/// </summary>
public class IndicatorProperties
{
    private static readonly string[] Symbols = ["ZED", "ABC"];

    private static readonly string[] Windows = ["1m", "2m"];

    // Few distinct prices, so ties, equal closes (zero changes, zero deviations) and crossings at equality happen.
    private static readonly double[] Prices = [99, 99.5, 100, 100.5, 101, 102, 97.25];

    /// <summary>In-order ticks over up to 60 minutes; a symbol skips some minutes; volume 0 makes a bar without vwap.</summary>
    private static readonly Gen<Tick[]> Ticks =
        Gen.Select(Gen.Int[0, 1], Gen.Int[0, 59], Gen.Int[0, 59_999], Gen.Int[0, Prices.Length - 1], Gen.OneOf(0.0, 1.0, 2.5, 10.0))
            .Array[1, 160]
            .Select(raw => raw
                .Select(r => new Tick(Symbols[r.Item1], Kit.T0 + (r.Item2 * 60_000L) + r.Item3, Prices[r.Item4], r.Item5, TradeId.None, null, AssetClass.Crypto))
                .OrderBy(t => t.Ts)
                .ToArray());

    private static readonly Gen<(string Type, int Period, double K)> IndicatorShape =
        Gen.Select(Gen.OneOf("sma", "ema", "rsi", "zscore", "bollinger", "atr"), Gen.Int[1, 6], Gen.OneOf(0.5, 1.0, 2.0));

    /// <summary>Up to five indicators over two windows; an indicator is over a bar field or an earlier one of its window.</summary>
    private static readonly Gen<IndicatorDefinition[]> IndicatorSets =
        Gen.Select(IndicatorShape, Gen.Int[0, 1], Gen.Int[0, 9], Gen.Int[0, 99]).Array[0, 5].Select(shapes =>
        {
            var result = new List<IndicatorDefinition>();
            for (var i = 0; i < shapes.Length; i++)
            {
                var ((type, period, k), window, field, pick) = shapes[i];
                var kind = IndicatorKinds.Builtin.Find(type)!;
                var earlier = result.Where(x => x.Window == Windows[window]).SelectMany(x => x.ValueNames()).ToList();
                string? of = kind.TakesOf
                    ? field < 7 || earlier.Count == 0 ? BarFields.Names[field % 7] : earlier[pick % earlier.Count]
                    : null;
                result.Add(new IndicatorDefinition($"i{i}", kind, Windows[window], of, period, kind.TakesK ? k : 0));
            }

            return result.ToArray();
        });

    private static Gen<Expr> NumberExpr(IReadOnlyList<string> names, int depth)
    {
        var leaf = Gen.Frequency(
            (3, Gen.OneOf(names.Select(n => (Expr)new Ref(n)).ToArray())),
            (2, Gen.OneOf<Expr>(new Num(0), new Num(1), new Num(50), new Num(70), new Num(100), new Num(100.5), new Num(0.5), new Num(2))));
        if (depth == 0)
        {
            return leaf;
        }

        var inner = NumberExpr(names, depth - 1);
        return Gen.Frequency(
            (6, leaf),
            (2, Gen.Select(Gen.OneOf("+", "-", "*", "/"), inner, inner).Select((op, l, r) => (Expr)new Arith(op, l, r))),
            (1, inner.Select(x => (Expr)new Neg(x))),
            (2, Gen.Select(inner, Gen.Int[1, 3]).Select((x, n) => (Expr)new Prev(x, n))),
            (1, Gen.Select(inner, Gen.Int[1, 3]).Select((x, n) => (Expr)new ChangePct(x, n))));
    }

    private static Gen<Expr> Condition(IReadOnlyList<string> names, int depth)
    {
        var number = NumberExpr(names, 2);
        var atom = Gen.Frequency(
            (3, Gen.Select(Gen.OneOf("<", "<=", ">", ">=", "==", "!="), number, number).Select((op, l, r) => (Expr)new Cmp(op, l, r))),
            (2, Gen.Select(Gen.Bool, number, number).Select((above, a, b) => (Expr)new Cross(above, a, b))));
        if (depth == 0)
        {
            return atom;
        }

        var inner = Condition(names, depth - 1);
        return Gen.Frequency(
            (4, atom),
            (2, Gen.Select(Gen.OneOf("and", "or"), inner, inner).Select((op, l, r) => (Expr)new Logic(op, l, r))),
            (1, inner.Select(x => (Expr)new Negation(x))));
    }

    private sealed record Case(PipelineDefinition Definition, (Expr When, int For)[] Rules, Tick[] Ticks)
    {
        public override string ToString() =>
            PipelineLoader.ToYaml(Definition) + "\nticks:\n" + string.Join("\n", Ticks.Select(t => $"  {t.Symbol} {t.Ts - Kit.T0} {t.Price} {t.Volume}"));
    }

    private static readonly Gen<Case> Cases =
        IndicatorSets.SelectMany(indicators =>
        {
            Gen<(string Window, Expr When, int For)> rule = Gen.Int[0, 1].SelectMany(w =>
            {
                var names = BarFields.Names.Concat(indicators.Where(i => i.Window == Windows[w]).SelectMany(i => i.ValueNames())).ToList();
                return Gen.Select(Condition(names, 2), Gen.Frequency((3, Gen.Const(1)), (2, Gen.Int[2, 3])))
                    .Select((when, k) => (Windows[w], when, k));
            });
            return Gen.Select(rule.Array[1, 4], Ticks).Select((rules, ticks) =>
            {
                var definition = PipelineDefinition.Default with
                {
                    OutOfOrdernessMs = 0,
                    Windows = [WindowDefinition.Tumbling("1m", 60_000), WindowDefinition.Tumbling("2m", 120_000)],
                    Indicators = indicators,
                    Rules = [.. rules.Select((r, n) => ExpressionRule.Define($"r{n}", r.Window, r.When.Text, r.For, indicators))],
                };
                return new Case(definition, [.. rules.Select(r => (r.When, r.For))], ticks);
            });
        });

    [Fact]
    public void Engine_WithRandomIndicatorsAndRules_FiresExactlyTheNaiveReferencesAlerts()
    {
        int alerts = 0, undefinedValues = 0;
        Cases.Sample(
            c =>
            {
                var output = new CollectingOutput();
                var engine = new WindowEngine(c.Definition, output);
                foreach (var t in c.Ticks)
                {
                    engine.Process(in t);
                }

                engine.CloseAll();
                var expected = Expected(c, output.Bars);
                AssertSameAlerts(expected, output.Alerts);
                Interlocked.Add(ref alerts, expected.Count);
                Interlocked.Add(ref undefinedValues, expected.Count(a => double.IsNaN(a.Value)));
            },
            iter: 3_000,
            print: c => c.ToString());

        Assert.True(alerts > 1_000, $"only {alerts} alerts over every case: the generator is too tame");
    }

    [Fact]
    public void Engine_RestoredFromACheckpointMidStream_FiresTheSameAlertsAsAnUninterruptedRun() =>
        Gen.Select(Cases, Gen.Int[0, 100]).Sample(
            (c, percent) =>
            {
                var whole = new CollectingOutput();
                var engine = new WindowEngine(c.Definition, whole);
                foreach (var t in c.Ticks)
                {
                    engine.Process(in t);
                }

                engine.CloseAll();

                var cut = c.Ticks.Length * percent / 100;
                var first = new CollectingOutput();
                var before = new WindowEngine(c.Definition, first);
                foreach (var t in c.Ticks.Take(cut))
                {
                    before.Process(in t);
                }

                using var saved = new MemoryStream();
                before.Save(saved);
                saved.Position = 0;
                var second = new CollectingOutput();
                var after = WindowEngine.Restore(c.Definition, second, saved);
                foreach (var t in c.Ticks.Skip(cut))
                {
                    after.Process(in t);
                }

                after.CloseAll();
                AssertSameAlerts([.. first.Alerts, .. second.Alerts], whole.Alerts);
            },
            iter: 500,
            print: c => c.ToString());

    [Fact]
    public void Definition_WithRandomIndicatorsAndRules_RoundTripsThroughTheLoader() =>
        Cases.Sample(
            c =>
            {
                var back = PipelineLoader.Parse(PipelineLoader.ToYaml(c.Definition), "round-trip.yaml");
                Assert.Equal(c.Definition.Fingerprint(), back.Fingerprint());
                Assert.Equal(c.Definition.Indicators, back.Indicators);
                Assert.Equal(c.Definition.Rules, back.Rules);
            },
            iter: 500,
            print: c => c.ToString());

    /// <summary>The alerts the naive reference fires: per (symbol, window), its bars in order, each rule at each index.</summary>
    private static List<Alert> Expected(Case c, IReadOnlyList<Bar> bars)
    {
        // Alerts follow their bar, rules in definition order: key each by the bar's place in the output.
        var place = bars.Select((b, i) => (b, i)).ToDictionary(x => (x.b.Symbol, x.b.Window, x.b.WindowStart), x => x.i);
        var result = new List<(int Place, int Rule, Alert Alert)>();
        foreach (var group in bars.GroupBy(b => (b.Symbol, b.Window)))
        {
            var series = group.OrderBy(b => b.WindowStart).ToList();
            var naive = new NaiveRules(series, NaiveIndicators.Compute([.. c.Definition.Indicators.Where(i => i.Window == group.Key.Window)], series));
            for (var r = 0; r < c.Rules.Length; r++)
            {
                if (c.Definition.Rules[r].Window != group.Key.Window)
                {
                    continue;
                }

                var (when, k) = c.Rules[r];
                for (var i = 0; i < series.Count; i++)
                {
                    if (naive.Fires(when, k, i))
                    {
                        var bar = series[i];
                        var (value, threshold) = naive.Operands(when, i);
                        var name = c.Definition.Rules[r].Name;
                        result.Add((place[(bar.Symbol, bar.Window, bar.WindowStart)], r, new Alert(
                            Alert.MakeId(name, bar.Symbol, bar.Window, bar.WindowStart), name, bar.Symbol, bar.Window, bar.WindowStart, bar.WindowEnd, value, threshold, bar.WindowEnd)));
                    }
                }
            }
        }

        return [.. result.OrderBy(x => x.Place).ThenBy(x => x.Rule).Select(x => x.Alert)];
    }

    private static void AssertSameAlerts(List<Alert> expected, IReadOnlyList<Alert> actual)
    {
        for (var i = 0; i < Math.Max(expected.Count, actual.Count); i++)
        {
            var e = i < expected.Count ? expected[i] : null;
            var a = i < actual.Count ? actual[i] : null;
            if (e is null || a is null || e.Id != a.Id || e.Ts != a.Ts || !Same(e.Value, a.Value) || !Same(e.Threshold, a.Threshold))
            {
                throw new InvalidOperationException($"alert #{i} differs:\n  expected {e?.ToString() ?? "nothing"}\n  engine   {a?.ToString() ?? "nothing"}");
            }
        }
    }

    // Exactly equal, bit for bit, or both undefined.
    private static bool Same(double x, double y) => x.Equals(y);
}
