using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using static Breadboard.Core.Tests.Engine.Kit;

namespace Breadboard.Core.Tests.Engine;

/// <summary>
/// The hot path allocates nothing per tick once the engine is warm: what it allocates comes from bars, alerts and
/// new windows (a few per symbol per minute), not from ticks. Counted in bytes, not timed.
/// </summary>
public class AllocationTests
{
    [Fact]
    public void Process_WhenWarm_AllocatesOnlyForWindowsAndBarsNotPerTick()
    {
        var symbols = new[] { "AAPL", "MSFT", "BTC-USD", "ETH-USD" };
        var engine = new WindowEngine(PipelineDefinition.Default, new DiscardingOutput());
        const int TicksPerSecond = 1_000;
        long next = 0;

        Tick At(long i) => new(
            symbols[i % symbols.Length],
            T0 + (i * 1_000 / TicksPerSecond) - (i % 7 == 0 ? 2_000 : 0), // some ticks out of order
            100 + (i % 13),
            1 + (i % 5),
            TradeId.FromNumber(i),
            "x",
            AssetClass.Stock);

        // Warm past the dedup horizon (10 min) so the id queue and map have reached their steady size.
        for (; next < 900_000; next++)
        {
            var tick = At(next);
            engine.Process(in tick);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        const int Measured = 300_000;
        for (var end = next + Measured; next < end; next++)
        {
            var tick = At(next);
            engine.Process(in tick);
        }

        var perTick = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Measured;

        // 300 s of ticks close ~4 symbols × (5 + 5 + session) bars a minute: a few hundred bytes each, ~1 B per tick.
        Assert.True(perTick < 2, $"allocated {perTick:F2} B per tick once warm");
        Assert.True(engine.BarsEmitted > 0);
    }

    private sealed class DiscardingOutput : IEngineOutput
    {
        public void OnBar(Bar bar)
        {
        }

        public void OnAlert(Alert alert)
        {
        }

        public void OnLate(in Tick tick, long watermark)
        {
        }

        public void OnTick(in Tick tick, long position)
        {
        }

        public void OnReject(in Tick tick, long position, string reason)
        {
        }
    }
}
