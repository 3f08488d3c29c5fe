using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Rules;
using CsCheck;

namespace Breadboard.Core.Tests.Engine;

/// <summary>The engine against <see cref="ReferenceEngine"/> on random streams and random pipelines.</summary>
public class EngineProperties
{
    private const double RelativeTolerance = 1e-9;

    private sealed record Run(List<object> Events, TickOutcome[] Outcomes, long Duplicates, long Late);

    private static Run RunEngine(PipelineDefinition definition, Tick[] ticks)
    {
        var output = new CollectingOutput();
        var engine = new WindowEngine(definition, output);
        var outcomes = ticks.Select(t => engine.Process(in t)).ToArray();
        engine.CloseAll();
        return new Run(output.Events, outcomes, engine.Duplicates, engine.Late);
    }

    private static Run RunReference(PipelineDefinition definition, Tick[] ticks)
    {
        var output = new CollectingOutput();
        var reference = new ReferenceEngine(definition, output);
        var outcomes = ticks.Select(reference.Process).ToArray();
        reference.CloseAll();
        return new Run(output.Events, outcomes, reference.Duplicates, reference.Late);
    }

    private static Run AssertMatchesReference(PipelineDefinition definition, Tick[] ticks)
    {
        var expected = RunReference(definition, ticks);
        var actual = RunEngine(definition, ticks);

        for (var i = 0; i < ticks.Length; i++)
        {
            if (expected.Outcomes[i] != actual.Outcomes[i])
            {
                throw new InvalidOperationException($"tick #{i} {ticks[i]}: expected {expected.Outcomes[i]}, engine said {actual.Outcomes[i]}");
            }
        }

        for (var i = 0; i < Math.Max(expected.Events.Count, actual.Events.Count); i++)
        {
            var e = i < expected.Events.Count ? expected.Events[i] : null;
            var a = i < actual.Events.Count ? actual.Events[i] : null;
            if (e is null || a is null || !Same(e, a))
            {
                throw new InvalidOperationException($"output #{i} differs:\n  expected {e?.ToString() ?? "nothing"}\n  engine   {a?.ToString() ?? "nothing"}");
            }
        }

        if (expected.Duplicates != actual.Duplicates || expected.Late != actual.Late)
        {
            throw new InvalidOperationException($"counters: expected {expected.Duplicates} duplicates and {expected.Late} late, engine has {actual.Duplicates} and {actual.Late}");
        }

        return expected;
    }

    private static bool Same(object expected, object actual) => (expected, actual) switch
    {
        (Bar e, Bar a) =>
            e.Symbol == a.Symbol && e.Window == a.Window && e.WindowStart == a.WindowStart && e.WindowEnd == a.WindowEnd
            && e.Open == a.Open && e.High == a.High && e.Low == a.Low && e.Close == a.Close && e.Trades == a.Trades
            && Close(e.Volume, a.Volume) && (e.Vwap, a.Vwap) switch
            {
                (null, null) => true,
                ({ } x, { } y) => Close(x, y),
                _ => false,
            },
        (Alert e, Alert a) =>
            e.Id == a.Id && e.Rule == a.Rule && e.Symbol == a.Symbol && e.Window == a.Window
            && e.WindowStart == a.WindowStart && e.WindowEnd == a.WindowEnd && e.Ts == a.Ts
            && e.Threshold == a.Threshold && Close(e.Value, a.Value),
        (LateTick e, LateTick a) => e == a,
        _ => false,
    };

    private static bool Close(double x, double y) =>
        x == y || Math.Abs(x - y) <= RelativeTolerance * Math.Max(Math.Abs(x), Math.Abs(y));

    [Fact]
    public void Engine_WithDefaultPipeline_MatchesReference() =>
        EngineGen.Ticks.Sample(
            ticks => AssertMatchesReference(PipelineDefinition.Default, ticks),
            iter: 10_000,
            print: ticks => EngineGen.Print(PipelineDefinition.Default, ticks));

    [Fact]
    public void Engine_WithDefaultPipelineOnLongStreams_MatchesReference()
    {
        // Long enough for 20 previous 1m bars to exist, so the default volume_surge rule gets to fire.
        var minutes = Gen.Select(Gen.Long[0, 70_000], Gen.Int[0, 7], Gen.OneOf(0.0, 1.0, 2.0, 10.0, 50.0), Gen.Int[0, 2])
            .Select((step, price, volume, symbol) => new Tick(
                symbol == 0 ? "ZED" : "ABC",
                step,
                new[] { 100, 95, 105, 90, 110, 100.5, 99, 101 }[price],
                volume,
                TradeId.None,
                null,
                AssetClass.Stock))
            .Array[100, 250]
            .Select(steps =>
            {
                var ts = Kit.T0;
                return steps.Select(t => t with { Ts = ts += t.Ts }).ToArray();
            });
        var surges = 0;
        minutes.Sample(
            ticks =>
            {
                var run = AssertMatchesReference(PipelineDefinition.Default, ticks);
                Interlocked.Add(ref surges, run.Events.OfType<Alert>().Count(a => a.Rule == "volume_surge"));
            },
            iter: 100,
            print: ticks => EngineGen.Print(PipelineDefinition.Default, ticks));

        Assert.True(surges > 0, "no stream fired volume_surge: the generator is too tame");
    }

    [Fact]
    public void Engine_WithRandomPipelines_MatchesReference()
    {
        int late = 0, duplicates = 0, priceAlerts = 0, surgeAlerts = 0;
        Gen.Select(EngineGen.Definition, EngineGen.Ticks).Sample(
            (definition, ticks) =>
            {
                var run = AssertMatchesReference(definition, ticks);
                Interlocked.Add(ref late, (int)run.Late);
                Interlocked.Add(ref duplicates, (int)run.Duplicates);
                foreach (var alert in run.Events.OfType<Alert>())
                {
                    var rule = definition.Rules.Single(r => r.Name == alert.Rule);
                    Interlocked.Increment(ref rule.Kind == RuleKind.VolumeSurge ? ref surgeAlerts : ref priceAlerts);
                }
            },
            iter: 20_000,
            print: input => EngineGen.Print(input.Item1, input.Item2));

        // The comparison means little if the streams never reach the interesting cases.
        Assert.True(late > 0 && duplicates > 0 && priceAlerts > 0 && surgeAlerts > 0, $"late {late}, duplicates {duplicates}, price alerts {priceAlerts}, surge alerts {surgeAlerts}");
    }
}
