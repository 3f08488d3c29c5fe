using System.Diagnostics;

namespace Breadboard.Cli.Tests.Replay;

/// <summary>Input an attacker or a careless user would give replay: a reject with the reason each, never a crash.</summary>
public class ReplayHostileInputTests
{
    private static string[] Replay(TempDir dir, string input, params string[] extra) =>
    [
        "replay", "--input", input, "--bars-out", dir.File("bars.ndjson"), "--alerts-out", dir.File("alerts.ndjson"),
        "--late-out", dir.File("late.ndjson"), "--rejects-out", dir.File("rejects.ndjson"), .. extra,
    ];

    private static string Line(string symbol, string ts, double price, double volume = 1) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $$"""{"symbol":"{{symbol}}","ts":"{{ts}}","price":{{price:R}},"volume":{{volume:R}}}""");

    [Fact]
    public async Task Replay_AHugePrice_IsRejectedWithItsReasonAndTheRunGoesOn()
    {
        using var dir = new TempDir();
        var input = dir.File("m.ndjson");
        await File.WriteAllLinesAsync(input, [Line("AAPL", "2026-01-02T14:30:00Z", 1e308, 10), Line("ZZZ", "2026-01-02T15:00:00Z", 1)], TestContext.Current.CancellationToken);

        var result = await CliProcess.RunAsync(dir.Path, Replay(dir, input));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Empty(result.Stderr);
        var reject = Assert.Single(File.ReadAllLines(dir.File("rejects.ndjson")));
        Assert.Contains("\"line\":1,\"reason\":\"field 'price' must be a number from 1e-15 to 1e15 (got 1E+308)\"", reject, StringComparison.Ordinal);
        Assert.All(File.ReadAllLines(dir.File("bars.ndjson")), bar => Assert.Contains("\"symbol\":\"ZZZ\"", bar, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Replay_ATickAtTheEndOfYear9999_IsRejected()
    {
        using var dir = new TempDir();
        var input = dir.File("y.ndjson");
        await File.WriteAllLinesAsync(input, [Line("AAPL", "2026-01-02T14:30:00Z", 1), Line("AAPL", "9999-12-31T23:59:59.999Z", 1)], TestContext.Current.CancellationToken);

        var result = await CliProcess.RunAsync(dir.Path, Replay(dir, input));

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains("1 ticks from 2 lines", result.Stdout, StringComparison.Ordinal);
        var reject = Assert.Single(File.ReadAllLines(dir.File("rejects.ndjson")));
        Assert.Contains("\"line\":2,\"reason\":\"field 'ts' must be from 1970-01-01T00:00:00.000Z to 9999-12-31T23:54:59.999Z", reject, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_OneTickFrom2099_IsRejectedAndTheTicksAfterItAreNotLate()
    {
        using var dir = new TempDir();
        var ticks = Enumerable.Range(0, 200).Select(i => Line(i % 2 == 0 ? "AAPL" : "BTC-USD", $"2026-01-02T14:{30 + (i / 20):D2}:{i % 20 * 3:D2}Z", 100 + (i % 7))).ToList();
        var clean = dir.File("clean.ndjson");
        var poisoned = dir.File("poisoned.ndjson");
        await File.WriteAllLinesAsync(clean, ticks, TestContext.Current.CancellationToken);
        await File.WriteAllLinesAsync(poisoned, [.. ticks[..50], Line("AAPL", "2099-06-01T00:00:00Z", 1), .. ticks[50..]], TestContext.Current.CancellationToken);

        var expected = await CliProcess.RunAsync(dir.Path, ["replay", "-q", "--input", clean, "--bars-out", dir.File("clean-bars.ndjson"), "--alerts-out", dir.File("clean-alerts.ndjson")]);
        var result = await CliProcess.RunAsync(dir.Path, Replay(dir, poisoned));

        Assert.True(expected.ExitCode == 0 && result.ExitCode == 0, expected.Stderr + result.Stderr);
        Assert.Contains("0 late", result.Stdout, StringComparison.Ordinal);
        var reject = Assert.Single(File.ReadAllLines(dir.File("rejects.ndjson")));
        Assert.Contains("\"line\":51,\"reason\":\"ts 2099-06-01T00:00:00.000Z jumped more than future.max_jump (1d) ahead of the watermark", reject, StringComparison.Ordinal);
        Assert.Equal(File.ReadAllBytes(dir.File("clean-bars.ndjson")), File.ReadAllBytes(dir.File("bars.ndjson")));
    }

    [Fact]
    public async Task Replay_ToAFullDisk_SaysSoInOneLineAndLeavesTheCheckpointToResumeFrom()
    {
        using var dir = new TempDir();
        var input = dir.File("ticks.ndjson");
        await File.WriteAllLinesAsync(input, Enumerable.Range(0, 20_000).Select(i => Line("AAPL", DateTimeOffset.FromUnixTimeMilliseconds(1_767_364_200_000 + (i * 100L)).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture), 100 + (i % 13))), TestContext.Current.CancellationToken);
        var checkpoint = dir.File("replay.ckpt");
        string[] Run(string bars) => ["replay", "-q", "--input", input, "--bars-out", bars, "--alerts-out", dir.File("alerts.ndjson"), "--checkpoint", checkpoint, "--checkpoint-every", "1000"];

        var expected = await CliProcess.RunAsync(dir.Path, ["replay", "-q", "--input", input, "--bars-out", dir.File("expected.ndjson"), "--alerts-out", dir.File("expected-alerts.ndjson")]);
        Assert.True(expected.ExitCode == 0, expected.Stderr);

        // A paced run killed once it has a checkpoint: the state a full disk would find.
        using (var process = Process.Start(CliProcess.StartInfo(dir.Path, null, [.. Run(dir.File("bars.ndjson")), "--speed", "200"]))!)
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!File.Exists(checkpoint) && DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(20, TestContext.Current.CancellationToken);
            }

            Assert.False(process.HasExited, "the replay finished before it could be killed");
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        var saved = await File.ReadAllBytesAsync(checkpoint, TestContext.Current.CancellationToken);
        var full = await CliProcess.RunAsync(dir.Path, [.. Run(dir.File("bars.ndjson")), "--late-out", "/dev/full"]);

        Assert.Equal(1, full.ExitCode);
        Assert.Equal(["error: Invalid argument : '/dev/full'"], full.ErrorLines);
        Assert.Equal(saved, await File.ReadAllBytesAsync(checkpoint, TestContext.Current.CancellationToken));

        var resumed = await CliProcess.RunAsync(dir.Path, Run(dir.File("bars.ndjson")));
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Equal(File.ReadAllBytes(dir.File("expected.ndjson")), File.ReadAllBytes(dir.File("bars.ndjson")));
    }

    [Theory]
    [InlineData("windows:\n  - { name: h, type: hopping, size: 1d, slide: 1ms }\n", "error: p.yaml: windows: a tick would belong to 86,400,000 windows")]
    [InlineData("windows:\n  - { name: t, type: tumbling, size: 3000000d }\n", "error: p.yaml: windows[0].size: must be at most 366d (got 3000000d)")]
    public async Task ValidateConfig_DefinitionThatWouldHangOrCrash_IsRefusedWithTheFieldPath(string yaml, string error)
    {
        using var dir = new TempDir();
        await File.WriteAllTextAsync(dir.File("p.yaml"), yaml, TestContext.Current.CancellationToken);

        var result = await CliProcess.RunAsync(dir.Path, ["validate-config", "--pipeline", "p.yaml"]);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith(error, Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidateConfig_BillionLaughs_IsRefusedInsteadOfExhaustingMemory()
    {
        using var dir = new TempDir();
        var yaml = new System.Text.StringBuilder("a0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]\n");
        for (var i = 1; i <= 10; i++)
        {
            yaml.Append($"a{i}: &a{i} [{string.Join(',', Enumerable.Repeat($"*a{i - 1}", 10))}]\n");
        }

        await File.WriteAllTextAsync(dir.File("laughs.yaml"), yaml.ToString(), TestContext.Current.CancellationToken);

        var result = await CliProcess.RunAsync(dir.Path, ["validate-config", "--pipeline", "laughs.yaml"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("expands to more than 100,000 nodes", Assert.Single(result.ErrorLines), StringComparison.Ordinal);
    }
}
