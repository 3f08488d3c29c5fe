using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Breadboard.Cli.Settings;
using Breadboard.Core.Pipeline;
using Breadboard.DuckDb.Baseline;
using Breadboard.Feeds;
using Breadboard.Feeds.Synthetic;
using Breadboard.Runtime;
using Breadboard.Runtime.Faces;

namespace Breadboard.Cli.Commands;

/// <summary><c>breadboard bench replay</c>: replay throughput against DuckDB computing the same bars in one SQL query.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var ticks = new Option<long>("--ticks") { Description = "Ticks in the generated file.", DefaultValueFactory = _ => 1_400_000 };
        var symbols = new Option<int>("--symbols") { Description = "Symbols in the generated file.", DefaultValueFactory = _ => 50 };
        var file = new Option<string?>("--file") { Description = "Replay this NDJSON file instead of generating one." };
        var runs = new Option<int>("--runs") { Description = "Runs of each side; the best of each is compared.", DefaultValueFactory = _ => 3 };
        var noBaseline = new Option<bool>("--no-baseline") { Description = "Skip DuckDB (for memory runs on large files)." };
        var pipeline = CommandRunner.PipelineOption();
        var replay = new Command("replay", "Time replay of a generated tick file with the default pipeline against DuckDB's batch SQL for the same three windows.")
        {
            ticks, symbols, file, runs, noBaseline, pipeline,
        };

        replay.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var path = parse.GetValue(file) ?? Generate(parse.GetValue(ticks), parse.GetValue(symbols));
            if (!File.Exists(path))
            {
                throw new SettingException($"--file '{path}': file not found");
            }

            var definition = CommandRunner.LoadPipeline(parse.GetValue(pipeline));
            var count = Math.Max(1, parse.GetValue(runs));
            var outDir = Directory.CreateTempSubdirectory("breadboard-bench-");
            try
            {
                Console.WriteLine($"input: {path} ({new FileInfo(path).Length / 1e6:F0} MB); {Environment.ProcessorCount} cores; .NET {Environment.Version}; {count} run(s) each, best taken");
                Console.WriteLine($"pipeline: {parse.GetValue(pipeline) ?? "default"} ({definition.Windows.Count} windows, {definition.Indicators.Count} indicators, {definition.Rules.Count} rules)");

                // Ours first, so the process's peak memory is the replay's and not DuckDB's.
                var best = TimeSpan.MaxValue;
                RunResult? result = null;
                long allocated = 0;
                for (var i = 0; i < count; i++)
                {
                    var before = GC.GetTotalAllocatedBytes(precise: true);
                    result = await Replay.RunAsync(new ReplayOptions
                    {
                        Input = path,
                        Pipeline = definition,
                        BarsOut = Path.Combine(outDir.FullName, "bars.ndjson"),
                        AlertsOut = Path.Combine(outDir.FullName, "alerts.ndjson"),
                        LateOut = Path.Combine(outDir.FullName, "late.ndjson"),
                        RejectsOut = Path.Combine(outDir.FullName, "rejects.ndjson"),
                    }, cancellationToken: cancellationToken);
                    allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
                    best = result.Elapsed < best ? result.Elapsed : best;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  breadboard replay run {i + 1}: {result.Elapsed.TotalSeconds:F3} s"));
                }

                using var self = Process.GetCurrentProcess();
                var peak = self.PeakWorkingSet64;
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"breadboard replay: {best.TotalSeconds:F3} s, {result!.Ticks / best.TotalSeconds:N0} ticks/s, {result.Bars:N0} bars, {result.Alerts:N0} alerts; allocated {allocated / (double)result.Ticks:F1} B/tick ({allocated / 1e6:F0} MB per run); peak working set {peak / 1e6:F0} MB"));

                if (parse.GetValue(noBaseline))
                {
                    return 0;
                }

                var baseline = TimeSpan.MaxValue;
                BaselineResult? duck = null;
                for (var i = 0; i < count; i++)
                {
                    duck = DuckDbBarsBaseline.Run(path);
                    baseline = duck.Elapsed < baseline ? duck.Elapsed : baseline;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  duckdb batch SQL run {i + 1}: {duck.Elapsed.TotalSeconds:F3} s"));
                }

                var bars = string.Join(", ", duck!.BarsPerWindow.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value:N0}"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"duckdb batch SQL: {baseline.TotalSeconds:F3} s ({bars})"));
                var ratio = best / baseline;
                // The target is set for files of 1M ticks and more; on small files start-up costs dominate both sides.
                var verdict = result.Ticks < 1_000_000 ? "the ≤ 1.50 target applies to files of 1M ticks or more" : ratio <= 1.5 ? "target ≤ 1.50: met" : "target ≤ 1.50: NOT met";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio breadboard/duckdb: {ratio:F2} ({verdict})"));
                return 0;
            }
            finally
            {
                outDir.Delete(recursive: true);
            }
        }));

        return new Command("bench", "Benchmarks.") { replay, WebBench.Create(), KafkaBench.Create(), AlertsBench.Create(), ClickHouseBench.Create(), FeedBench.Create(), FreshnessBench.Create() };
    }

    /// <summary>Writes (once) a deterministic synthetic tick file under data/bench.</summary>
    private static string Generate(long ticks, int symbols)
    {
        var path = Path.Combine("data", "bench", string.Create(CultureInfo.InvariantCulture, $"ticks-{ticks}-{symbols}.ndjson"));
        if (File.Exists(path))
        {
            return path;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var clock = Stopwatch.StartNew();
        var temp = path + ".tmp";
        using (var stream = File.Create(temp))
        {
            TickFileWriter.WriteNdjson(stream, new SyntheticFeed(SyntheticFeedOptions.ForBenchmark(symbols)).Generate(ticks));
        }

        File.Move(temp, path);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"generated {path}: {ticks:N0} ticks in {clock.Elapsed.TotalSeconds:F1} s"));
        return path;
    }
}
