using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using static Breadboard.Core.Tests.Engine.Kit;

namespace Breadboard.Core.Tests.Engine;

/// <summary>
/// A checkpoint without trade ids, plus the ids of the accepted ticks handed back from elsewhere (the store), must
/// behave exactly like a full checkpoint: that is how the Kafka processor keeps checkpoints small.
/// </summary>
public class CheckpointWithoutTradeIdsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Restore_WithoutTradeIdsButRemembered_GivesTheUninterruptedOutput(int seed)
    {
        var random = new Random(seed);
        var definition = PipelineDefinition.Default with { DedupHorizonMs = 120_000 };
        var ticks = new List<Tick>();
        for (var i = 0; i < 6_000; i++)
        {
            var symbol = random.Next(3) switch { 0 => "AAA", 1 => "BBB-USD", _ => "CCC" };
            var ts = T0 + (i * 250L) - (random.Next(20) == 0 ? random.Next(1_000, 200_000) : 0);
            var id = random.Next(10) == 0 && i > 10 ? random.Next(Math.Max(0, i - 600), i) : i; // some repeats, some expired
            ticks.Add(Tick(symbol, ts, 100 + random.Next(-10, 11), random.Next(0, 4), id));
        }

        var whole = new CollectingOutput();
        var uninterrupted = new WindowEngine(definition, whole);
        foreach (var t in ticks)
        {
            uninterrupted.Process(in t);
        }

        uninterrupted.CloseAll();

        var cut = random.Next(1_000, 5_000);
        var before = new CollectingOutput();
        var first = new WindowEngine(definition, before);
        var accepted = new List<Tick>();
        for (var i = 0; i < cut; i++)
        {
            if (first.Process(ticks[i]) != TickOutcome.Duplicate)
            {
                accepted.Add(ticks[i]); // what the store would hold
            }
        }

        using var state = new MemoryStream();
        first.Save(state, includeTradeIds: false);
        state.Position = 0;
        var after = new CollectingOutput();
        var resumed = WindowEngine.Restore(definition, after, state);
        foreach (var t in accepted.Where(t => t.Ts >= resumed.TradeIdHorizonStart).OrderBy(t => t.Ts))
        {
            resumed.RememberTradeId(t.Symbol, t.TradeId, t.Ts);
        }

        for (var i = cut; i < ticks.Count; i++)
        {
            resumed.Process(ticks[i]);
        }

        resumed.CloseAll();

        Assert.Equal(whole.Events, [.. before.Events, .. after.Events]);
        Assert.Equal(uninterrupted.Duplicates, resumed.Duplicates); // counters carry over in the checkpoint
        Assert.True(uninterrupted.Duplicates > 0);
    }
}
