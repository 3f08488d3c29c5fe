using System.Diagnostics;
using Breadboard.Core.Model;
using Breadboard.Feeds;
using Breadboard.Feeds.Synthetic;

namespace Breadboard.Cli.Tests.Replay;

/// <summary>A replay killed with SIGKILL and started again ends with exactly the files an uninterrupted replay writes.</summary>
public class ReplayCheckpointTests
{
    [Fact]
    public async Task Replay_KilledTwiceAndResumed_WritesExactlyTheUninterruptedOutputs()
    {
        using var dir = new TempDir();
        var input = dir.File("ticks.ndjson");
        WriteDisorderedInput(input, 120_000);

        var expected = await CliProcess.RunAsync(dir.Path, Args(dir, "expected", checkpoint: null));
        Assert.True(expected.ExitCode == 0, expected.Stderr);

        var checkpoint = dir.File("replay.checkpoint");
        for (var kill = 0; kill < 2; kill++)
        {
            // Paced replay, so there is time to kill it mid-file after a checkpoint or two.
            var info = CliProcess.StartInfo(dir.Path, null, Args(dir, "actual", checkpoint, "--speed", "400"));
            using var process = Process.Start(info)!;
            var firstCheckpoint = File.Exists(checkpoint) ? File.GetLastWriteTimeUtc(checkpoint) : DateTime.MinValue;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!(File.Exists(checkpoint) && File.GetLastWriteTimeUtc(checkpoint) > firstCheckpoint) && DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(20, TestContext.Current.CancellationToken);
            }

            await Task.Delay(150, TestContext.Current.CancellationToken); // past the checkpoint, so there is output to truncate on resume
            Assert.False(process.HasExited, "the replay finished before it could be killed; slow it down further");
            process.Kill(entireProcessTree: true); // SIGKILL: no flush, no cleanup
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.True(File.Exists(checkpoint));
        }

        var resumed = await CliProcess.RunAsync(dir.Path, Args(dir, "actual", checkpoint));
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains("resumed", resumed.Stdout, StringComparison.Ordinal);
        Assert.False(File.Exists(checkpoint), "a completed replay removes its checkpoint");

        foreach (var name in new[] { "bars", "alerts", "late", "rejects" })
        {
            var want = await File.ReadAllBytesAsync(dir.File($"{name}-expected.ndjson"), TestContext.Current.CancellationToken);
            var got = await File.ReadAllBytesAsync(dir.File($"{name}-actual.ndjson"), TestContext.Current.CancellationToken);
            Assert.True(want.AsSpan().SequenceEqual(got), $"{name} differ: {want.Length} bytes expected, {got.Length} written");
        }

        Assert.NotEmpty(await File.ReadAllLinesAsync(dir.File("late-expected.ndjson"), TestContext.Current.CancellationToken));
        Assert.NotEmpty(await File.ReadAllLinesAsync(dir.File("rejects-expected.ndjson"), TestContext.Current.CancellationToken));
    }

    private static string[] Args(TempDir dir, string run, string? checkpoint, params string[] extra)
    {
        var args = new List<string>
        {
            "replay", "--input", dir.File("ticks.ndjson"),
            "--bars-out", dir.File($"bars-{run}.ndjson"), "--alerts-out", dir.File($"alerts-{run}.ndjson"),
            "--late-out", dir.File($"late-{run}.ndjson"), "--rejects-out", dir.File($"rejects-{run}.ndjson"),
        };
        if (checkpoint is not null)
        {
            args.AddRange(["--checkpoint", checkpoint, "--checkpoint-every", "5000"]);
        }

        args.AddRange(extra);
        return [.. args];
    }

    /// <summary>Synthetic ticks with some delayed (late or out of order), some repeated (duplicates) and some broken lines.</summary>
    private static void WriteDisorderedInput(string path, int count)
    {
        var options = SyntheticFeedOptions.Default with { StartTime = 1_767_312_000_000, RatePerSecond = 50, Seed = 7 };
        var ticks = new SyntheticFeed(options).Generate(count).ToList();
        var random = new Random(11);
        var lines = new List<string>(count + 1000);
        using var buffer = new MemoryStream();
        for (var i = 0; i < ticks.Count; i++)
        {
            var tick = ticks[i];
            var roll = random.Next(1000);
            if (roll < 5)
            {
                tick = tick with { Ts = tick.Ts - random.Next(1_000, 400_000) }; // out of order, often late
            }

            lines.Add(Line(tick));
            if (roll is >= 5 and < 10)
            {
                lines.Add(Line(tick)); // a duplicate delivery
            }
            else if (roll == 10)
            {
                lines.Add("""{"symbol":"AAPL","ts":"2026-01-02T00:00:00Z","price":"NaN","volume":1}""");
            }
        }

        File.WriteAllLines(path, lines);
    }

    private static string Line(Tick tick)
    {
        using var stream = new MemoryStream();
        TickFileWriter.WriteNdjson(stream, [tick]);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray()).TrimEnd('\n');
    }
}
