using BenchmarkDotNet.Attributes;
using Breadboard.Core.Codec;
using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Feeds;
using Breadboard.Feeds.Synthetic;

namespace Breadboard.Benchmarks;

/// <summary>The hot paths on their own: parsing NDJSON lines, and the engine over ticks already in memory.</summary>
[MemoryDiagnoser]
public class EngineBenchmarks
{
    private const int Count = 200_000;
    private Tick[] _ticks = [];
    private byte[] _ndjson = [];
    private PipelineDefinition _indicators = PipelineDefinition.Default;

    [GlobalSetup]
    public void Setup()
    {
        _ticks = [.. new SyntheticFeed(SyntheticFeedOptions.ForBenchmark(50)).Generate(Count)];
        using var stream = new MemoryStream();
        TickFileWriter.WriteNdjson(stream, _ticks);
        _ndjson = stream.ToArray();
        _indicators = PipelineLoader.Parse(File.ReadAllText(RepositoryFile("config/indicators.yaml")), "config/indicators.yaml");
    }

    /// <summary>Ticks/s of the default pipeline's engine: dedup, 1m, 5m, session windows, rules.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public long Engine()
    {
        var engine = new WindowEngine(PipelineDefinition.Default, NullOutput.Instance);
        foreach (ref readonly var tick in _ticks.AsSpan())
        {
            engine.Process(in tick);
        }

        engine.CloseAll();
        return engine.BarsEmitted;
    }

    /// <summary>The same with config/indicators.yaml: the default pipeline plus seven indicators and four expression rules on 1m bars.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public long EngineWithIndicators()
    {
        var engine = new WindowEngine(_indicators, NullOutput.Instance);
        foreach (ref readonly var tick in _ticks.AsSpan())
        {
            engine.Process(in tick);
        }

        engine.CloseAll();
        return engine.AlertsEmitted;
    }

    /// <summary>Lines/s of the NDJSON reader: split, parse, validate, intern.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public long ParseNdjson()
    {
        using var reader = new TickStreamReader(new MemoryStream(_ndjson, writable: false), TickFormat.Ndjson);
        long sum = 0;
        while (reader.Read(out var tick) != ReadStatus.End)
        {
            sum += tick.Ts;
        }

        return sum;
    }

    private static string RepositoryFile(string path)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, path)))
            {
                return Path.Combine(dir.FullName, path);
            }
        }

        throw new FileNotFoundException($"{path} not found above {AppContext.BaseDirectory}");
    }

    private sealed class NullOutput : IEngineOutput
    {
        public static readonly NullOutput Instance = new();

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
