using Breadboard.Core.Codec;
using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.DuckDb.Baseline;
using Breadboard.Feeds;
using Breadboard.Feeds.Synthetic;

namespace Breadboard.Cli.Tests.Replay;

/// <summary>
/// An independent implementation of the same windows: DuckDB's SQL over the same file. On ticks in event-time
/// order (nothing late, nothing duplicated) the two must agree bar for bar.
/// </summary>
public class EngineAgainstDuckDbTests
{
    [Theory]
    [InlineData(40.0, 30_000)]   // dense: long sessions, many ticks per window
    [InlineData(0.5, 20_000)]    // sparse: sessions break, minutes without trades
    public void Engine_OnOrderedTicks_AgreesWithDuckDbBarForBar(double rate, int count)
    {
        using var dir = new TempDir();
        var path = dir.File("ticks.ndjson");
        using (var file = File.Create(path))
        {
            var options = SyntheticFeedOptions.Default with { StartTime = 1_767_312_000_000, RatePerSecond = rate, Seed = 3 };
            TickFileWriter.WriteNdjson(file, new SyntheticFeed(options).Generate(count));
        }

        var ours = new Collect();
        using (var input = File.OpenRead(path))
        using (var reader = new TickStreamReader(input, TickFormat.Ndjson))
        {
            var engine = new WindowEngine(PipelineDefinition.Default, ours);
            while (reader.Read(out var tick) == ReadStatus.Tick)
            {
                Assert.Equal(TickOutcome.Accepted, engine.Process(in tick));
            }

            engine.CloseAll();
        }

        var theirs = DuckDbBarsBaseline.ComputeBars(path).ToDictionary(Key);
        Assert.Equal(theirs.Count, ours.Bars.Count);
        foreach (var bar in ours.Bars)
        {
            Assert.True(theirs.TryGetValue(Key(bar), out var expected), $"DuckDB has no bar {Key(bar)}");
            Assert.Equal(expected.WindowEnd, bar.WindowEnd);
            Assert.Equal(expected.Open, bar.Open);
            Assert.Equal(expected.High, bar.High);
            Assert.Equal(expected.Low, bar.Low);
            Assert.Equal(expected.Close, bar.Close);
            Assert.Equal(expected.Trades, bar.Trades);
            Assert.Equal(expected.Volume, bar.Volume, Tolerance(expected.Volume));
            Assert.Equal(expected.Vwap!.Value, bar.Vwap!.Value, Tolerance(expected.Vwap.Value));
        }

        Assert.Contains(ours.Bars, b => b.Window == "session");
    }

    private static (string, string, long) Key(Bar bar) => (bar.Window, bar.Symbol, bar.WindowStart);

    private static double Tolerance(double value) => Math.Abs(value) * 1e-9;

    private sealed class Collect : IEngineOutput
    {
        public List<Bar> Bars { get; } = [];

        public void OnBar(Bar bar) => Bars.Add(bar);

        public void OnAlert(Alert alert)
        {
        }

        public void OnLate(in Tick tick, long watermark) => throw new InvalidOperationException("ordered input has no late ticks");

        public void OnTick(in Tick tick, long position)
        {
        }

        public void OnReject(in Tick tick, long position, string reason) => throw new InvalidOperationException($"valid input has no refusals: {reason}");
    }
}
