using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
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
        var runs = new Option<int>("--runs") { Description = "Runs of each side; best and median are reported.", DefaultValueFactory = _ => 5 };
        var noBaseline = new Option<bool>("--no-baseline") { Description = "Skip DuckDB (for memory runs on large files)." };
        var pipeline = CommandRunner.PipelineOption();
        var replay = new Command("replay", "Time `breadboard replay` as a user runs it (a new process each run) against DuckDB computing the same bars from the same file, alternating runs.")
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

            var pipelinePath = parse.GetValue(pipeline);
            var definition = CommandRunner.LoadPipeline(pipelinePath);
            var count = Math.Max(1, parse.GetValue(runs));
            var baseline = !parse.GetValue(noBaseline);
            var outDir = Directory.CreateTempSubdirectory("breadboard-bench-");
            try
            {
                Console.WriteLine($"input: {path} ({new FileInfo(path).Length / 1e6:F0} MB); {Environment.ProcessorCount} cores; .NET {Environment.Version}; {count} run(s) of each side, alternating");
                Console.WriteLine($"pipeline: {pipelinePath ?? "default"} ({definition.Windows.Count} windows, {definition.Indicators.Count} indicators, {definition.Rules.Count} rules)");
                var bars = Path.Combine(outDir.FullName, "bars.ndjson");
                string[] arguments = ["replay", "--input", path, "--bars-out", bars, "--alerts-out", Path.Combine(outDir.FullName, "alerts.ndjson"), "-q", .. pipelinePath is null ? Array.Empty<string>() : ["--pipeline", pipelinePath]];
                Console.WriteLine($"ours: a new process each run: breadboard {string.Join(' ', arguments)}");
                if (baseline)
                {
                    Console.WriteLine("duckdb: DuckDbBarsBaseline.SimpleSql (read_json + GROUP BY, DuckDB's default threads: all cores), into a table of a new in-memory database each run");
                }

                var fresh = new List<(TimeSpan Wall, TimeSpan Cpu)>();
                var duck = new List<TimeSpan>();
                BaselineResult? duckResult = null;
                for (var i = 0; i < count; i++)
                {
                    var run = await FreshProcessAsync(arguments, cancellationToken);
                    fresh.Add(run);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  breadboard replay run {i + 1}: {run.Wall.TotalSeconds:F3} s wall, {run.Cpu.TotalSeconds:F3} s CPU"));
                    if (baseline)
                    {
                        duckResult = DuckDbBarsBaseline.Run(path);
                        duck.Add(duckResult.Elapsed);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  duckdb run {i + 1}: {duckResult.Elapsed.TotalSeconds:F3} s"));
                    }
                }

                var barCount = File.ReadLines(bars).LongCount();
                var walls = fresh.Select(r => r.Wall).ToList();
                var lines = File.ReadLines(path).LongCount();
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"breadboard replay, new process: best {Best(walls):F3} s, median {Median(walls):F3} s ({lines / Median(walls):N0} lines/s), median CPU {Median(fresh.Select(r => r.Cpu).ToList()):F3} s; {barCount:N0} bars"));

                // Secondary: the same replay run twice inside this process, the second run warm (JIT done, caches full).
                RunResult? warm = null;
                long allocated = 0;
                for (var i = 0; i < 2; i++)
                {
                    var before = GC.GetTotalAllocatedBytes(precise: true);
                    warm = await Replay.RunAsync(new ReplayOptions
                    {
                        Input = path,
                        Pipeline = definition,
                        BarsOut = bars,
                        AlertsOut = Path.Combine(outDir.FullName, "alerts.ndjson"),
                    }, cancellationToken: cancellationToken);
                    allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
                }

                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"breadboard replay, warm (second run in one process): {warm!.Elapsed.TotalSeconds:F3} s, {warm.Ticks / warm.Elapsed.TotalSeconds:N0} ticks/s; allocated {allocated / (double)warm.Ticks:F1} B/tick"));
                if (!baseline)
                {
                    return 0;
                }

                var perWindow = string.Join(", ", duckResult!.BarsPerWindow.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value:N0}"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"duckdb: best {Best(duck):F3} s, median {Median(duck):F3} s; {duckResult.BarsPerWindow.Values.Sum():N0} bars ({perWindow})"));
                var ratio = Median(walls) / Median(duck);
                var verdict = lines < 1_000_000 ? "the ≤ 1.00 target applies to files of 1M lines or more" : ratio <= 1.0 ? "target ≤ 1.00: met" : "target ≤ 1.00: NOT met";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio breadboard (new process) / duckdb: median {ratio:F2}, best {Best(walls) / Best(duck):F2} ({verdict})"));
                return 0;
            }
            finally
            {
                outDir.Delete(recursive: true);
            }
        }));

        return new Command("bench", "Benchmarks.") { replay, WebBench.Create(), KafkaBench.Create(), AlertsBench.Create(), ClickHouseBench.Create(), FeedBench.Create(), FreshnessBench.Create() };
    }

    /// <summary>Runs this program again with <paramref name="arguments"/>, as a user would; its wall and CPU time.</summary>
    private static async Task<(TimeSpan Wall, TimeSpan Cpu)> FreshProcessAsync(string[] arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
        {
            start.ArgumentList.Add(typeof(BenchCommand).Assembly.Location); // run as `dotnet breadboard.dll`
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var cpuBefore = ChildrenCpu();
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var wall = clock.Elapsed;
        if (process.ExitCode != 0)
        {
            throw new SettingException($"breadboard replay exited with {process.ExitCode}: {(await errors).Trim()}");
        }

        return (wall, ChildrenCpu() - cpuBefore);
    }

    /// <summary>CPU time of this process's children that have ended and been waited for (an ended process's own figures are gone).</summary>
    private static TimeSpan ChildrenCpu()
    {
        // struct rusage on 64-bit Linux: ru_utime and ru_stime (timeval: seconds, microseconds), then 14 longs.
        var usage = new long[18];
        if (GetRUsage(-1 /* RUSAGE_CHILDREN */, usage) != 0)
        {
            return TimeSpan.Zero;
        }

        return TimeSpan.FromSeconds(usage[0] + usage[2]) + TimeSpan.FromMicroseconds(usage[1] + usage[3]);
    }

    [DllImport("libc", EntryPoint = "getrusage")]
    private static extern int GetRUsage(int who, long[] usage);

    private static double Best(List<TimeSpan> times) => times.Min().TotalSeconds;

    private static double Median(List<TimeSpan> times)
    {
        var sorted = times.Order().ToList();
        var middle = sorted.Count / 2;
        return (sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2).TotalSeconds;
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
