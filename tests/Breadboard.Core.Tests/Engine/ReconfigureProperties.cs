using System.Globalization;
using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using CsCheck;

namespace Breadboard.Core.Tests.Engine;

/// <summary>
/// Live rule changes (<see cref="WindowEngine.Reconfigure"/>) and checkpoints restored under an edited definition:
/// up to the switch the engine fires what a run of the old definition fires, from it on exactly what a run of the
/// new one fires: rules and indicators that changed or were added warm up on the recent bars the engine kept
/// (here every bar since the start: fewer than <see cref="WindowEngine.MinRecentBars"/>).
/// </summary>
public class ReconfigureProperties
{
    private static readonly string[] Symbols = ["ZED", "ABC"];

    private static readonly double[] Prices = [99, 99.5, 100, 100.5, 101, 102, 97.25];

    private static readonly Gen<Tick[]> Ticks =
        Gen.Select(Gen.Int[0, 1], Gen.Int[0, 89], Gen.Int[0, 59_999], Gen.Int[0, Prices.Length - 1], Gen.OneOf(0.5, 1.0, 2.5, 10.0))
            .Array[1, 200]
            .Select(raw => raw
                .Select(r => new Tick(Symbols[r.Item1], Kit.T0 + (r.Item2 * 60_000L) + r.Item3, Prices[r.Item4], r.Item5, TradeId.None, null, AssetClass.Crypto))
                .OrderBy(t => t.Ts)
                .ToArray());

    /// <summary>Thresholds of the rules that may change; which rules exist.</summary>
    private sealed record Shape(double Factor, double Percent, double Level, double Rsi, bool WithNewRule, bool WithoutCross, int NewPeriod)
    {
        public PipelineDefinition Definition() => PipelineLoader.Parse(string.Create(CultureInfo.InvariantCulture, $$"""
            version: 1
            out_of_orderness: 5s
            windows:
              - { name: 1m, type: tumbling, size: 1m }
              - { name: 3m, type: hopping, size: 3m, slide: 1m }
            indicators:
              - { name: fast, window: 1m, type: sma, of: close, period: 2 }
              - { name: slow, window: 1m, type: ema, of: close, period: 4 }
              - { name: rsi, window: 1m, type: rsi, of: close, period: 3 }
              - { name: wide, window: 3m, type: bollinger, of: close, period: {{NewPeriod}} }
            rules:
              - { name: surge, window: 1m, type: volume_surge, factor: {{Factor}}, lookback: 3 }
              - { name: move, window: 3m, type: price_change, op: ">=", threshold_percent: {{Percent}} }
              - { name: above, window: 1m, when: "close > {{Level}}" }
              - { name: hot, window: 1m, when: "rsi > {{Rsi}}" }
            {{(WithoutCross ? "" : "  - { name: cross, window: 1m, when: \"crosses_above(fast, slow)\", for: 1 }")}}
              - { name: band, window: 3m, when: "close < wide.lower or change_pct(close, 1) > 1" }
            {{(WithNewRule ? "  - { name: dip, window: 1m, when: \"close < 99.5\" }" : "")}}
            """), "test");
    }

    private static readonly Gen<Shape> Shapes = Gen.Select(
        Gen.OneOf(1.2, 2.0), Gen.OneOf(0.0, 0.5, 1.0), Gen.OneOf(99.0, 100.0, 101.0), Gen.OneOf(50.0, 70.0), Gen.Bool, Gen.Bool, Gen.OneOf(3, 4))
        .Select((f, p, l, r, add, cross, period) => new Shape(f, p, l, r, add, cross, period));

    [Fact]
    public void Reconfigure_MidStream_FiresTheOldRunsAlertsBeforeAndTheNewRunsAfter() =>
        Gen.Select(Ticks, Shapes, Shapes, Gen.Int[0, 100]).Sample(
            (ticks, a, b, percent) =>
            {
                var (old, proposed) = (a.Definition(), b.Definition());
                var k = ticks.Length * percent / 100;
                var switched = new CollectingOutput();
                var engine = new WindowEngine(old, switched);
                Feed(engine, ticks[..k]);
                var before = switched.Alerts.Count;
                var change = engine.Reconfigure(proposed);
                Feed(engine, ticks[k..]);
                engine.CloseAll();

                var (oldBefore, _) = Run(old, ticks, k);
                var (_, newAfter) = Run(proposed, ticks, k);
                Assert.Equal(oldBefore, switched.Alerts.Take(before));
                Assert.Equal(newAfter, switched.Alerts.Skip(before));
                Assert.All(switched.Alerts.Skip(before), x => Assert.Equal(proposed.Digest(), x.Pipeline));
                Assert.Equal(a == b, change.Changes.Count == 0);
            },
            iter: 400,
            print: x => $"k%={x.Item4} a={x.Item2} b={x.Item3} ticks=\n{string.Join("\n", x.Item1.Select(t => $"{t.Symbol} {t.Ts - Kit.T0} {t.Price} {t.Volume}"))}");

    [Fact]
    public void Checkpoint_RestoredUnderAnEditedDefinition_ContinuesAsAReconfiguredEngine() =>
        Gen.Select(Ticks, Shapes, Shapes, Gen.Int[0, 100]).Sample(
            (ticks, a, b, percent) =>
            {
                var (old, proposed) = (a.Definition(), b.Definition());
                var k = ticks.Length * percent / 100;
                var reconfigured = new CollectingOutput();
                var engine = new WindowEngine(old, reconfigured);
                Feed(engine, ticks[..k]);
                engine.Reconfigure(proposed);
                Feed(engine, ticks[k..]);
                engine.CloseAll();

                var restored = new CollectingOutput();
                var first = new WindowEngine(old, restored);
                Feed(first, ticks[..k]);
                using var checkpoint = new MemoryStream();
                first.Save(checkpoint);
                checkpoint.Position = 0;
                var second = WindowEngine.Restore(proposed, restored, checkpoint, recentBars: restored.Bars);
                Feed(second, ticks[k..]);
                second.CloseAll();

                Assert.Equal(reconfigured.Events, restored.Events);
                Assert.Same(proposed, second.Definition);
            },
            iter: 200);

    [Fact]
    public void Reconfigure_OfWindowsOrEventTimeSettings_IsRefusedNamingTheFieldAndChangesNothing()
    {
        var running = PipelineLoader.Parse("version: 1\nwindows:\n  - { name: 1m, type: tumbling, size: 1m }\nrules:\n  - { name: up, window: 1m, when: \"close > 100\" }\n", "running");
        (string Yaml, string Field)[] refused =
        [
            ("version: 1\nwindows:\n  - { name: 1m, type: tumbling, size: 2m }\n", "'windows'"),
            ("version: 1\nout_of_orderness: 9s\nwindows:\n  - { name: 1m, type: tumbling, size: 1m }\n", "'out_of_orderness'"),
            ("version: 1\ndedup_horizon: 1h\nwindows:\n  - { name: 1m, type: tumbling, size: 1m }\n", "'dedup_horizon'"),
        ];
        foreach (var (yaml, field) in refused)
        {
            var output = new CollectingOutput();
            var engine = new WindowEngine(running, output);
            engine.Process(Kit.Tick("ZED", Kit.T0, 101));
            var e = Assert.Throws<ArgumentException>(() => engine.Reconfigure(PipelineLoader.Parse(yaml, "new")));
            Assert.StartsWith(field + " cannot change while the pipeline runs", e.Message, StringComparison.Ordinal);
            Assert.Same(running, engine.Definition);
            engine.Process(Kit.Tick("ZED", Kit.T0 + (2 * Kit.Minute), 101));
            Assert.Equal("up", Assert.Single(output.Alerts).Rule);

            using var checkpoint = new MemoryStream();
            engine.Save(checkpoint);
            checkpoint.Position = 0;
            var restore = Assert.Throws<InvalidDataException>(() => WindowEngine.Restore(PipelineLoader.Parse(yaml, "new"), output, checkpoint));
            Assert.Contains(field, restore.Message, StringComparison.Ordinal);
        }
    }

    private static void Feed(WindowEngine engine, IEnumerable<Tick> ticks)
    {
        foreach (var t in ticks)
        {
            engine.Process(in t);
        }
    }

    /// <summary>A run of one definition: the alerts emitted before tick <paramref name="k"/>, and those from it on.</summary>
    private static (List<Alert> Before, List<Alert> After) Run(PipelineDefinition definition, Tick[] ticks, int k)
    {
        var output = new CollectingOutput();
        var engine = new WindowEngine(definition, output);
        Feed(engine, ticks[..k]);
        var before = output.Alerts.Count;
        Feed(engine, ticks[k..]);
        engine.CloseAll();
        return ([.. output.Alerts.Take(before)], [.. output.Alerts.Skip(before)]);
    }
}
