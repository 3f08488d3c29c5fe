using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Breadboard.Core.Codec;
using Breadboard.Core.Engine;
using Breadboard.Core.Pipeline;
using Breadboard.DuckDb.Baseline;
using Breadboard.Feeds;
using Breadboard.Feeds.Synthetic;

namespace Breadboard.Benchmarks;

/// <summary>
/// Replay of a 1.4M-tick NDJSON file (≈ 200 MB, 50 symbols) through the default pipeline, against DuckDB
/// computing the same three windows' bars from the same file in one SQL query. The target is a ratio ≤ 1.5.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class ReplayVsDuckDbBenchmarks
{
    private string _path = "";
    private string _out = "";

    [GlobalSetup]
    public void Setup()
    {
        _path = Path.Combine(Path.GetTempPath(), "breadboard-bench-1400000-50.ndjson");
        if (!File.Exists(_path))
        {
            using var stream = File.Create(_path);
            TickFileWriter.WriteNdjson(stream, new SyntheticFeed(SyntheticFeedOptions.ForBenchmark(50)).Generate(1_400_000));
        }

        _out = Directory.CreateTempSubdirectory("breadboard-bench-").FullName;
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_out, recursive: true);

    [Benchmark(Baseline = true)]
    public long DuckDbBatchSql() => DuckDbBarsBaseline.Run(_path).BarsPerWindow.Values.Sum();

    [Benchmark]
    public long BreadboardReplay()
    {
        using var input = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        using var reader = new TickStreamReader(input, TickFormat.Ndjson);
        using var barsFile = File.Create(Path.Combine(_out, "bars.ndjson"));
        using var alertsFile = File.Create(Path.Combine(_out, "alerts.ndjson"));
        using var bars = new RecordWriter(barsFile);
        using var alerts = new RecordWriter(alertsFile);
        var engine = new WindowEngine(PipelineDefinition.Default, new RecordingOutput(bars, alerts, null));
        while (true)
        {
            var status = reader.Read(out var tick);
            if (status == ReadStatus.End)
            {
                break;
            }

            if (status == ReadStatus.Tick)
            {
                engine.Process(in tick);
            }
        }

        engine.CloseAll();
        return engine.BarsEmitted;
    }
}
