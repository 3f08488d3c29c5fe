using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Breadboard.Cli.Tests.Kafka;
using Breadboard.Core.Model;
using Breadboard.TestKit;

namespace Breadboard.Cli.Tests.Rules;

/// <summary>
/// <c>up</c> changing its rules while a feed runs at 10K ticks/s: through <c>POST /api/pipeline/reload</c> and
/// SIGHUP, refused files leave the running definition, and the alerts are a replay of each definition on its side
/// of each switch, with no bar lost or repeated.
/// </summary>
public class LiveReloadTests
{
    private const string ApiKey = "reload-test-key";

    private const string Windows = """
        version: 1
        out_of_orderness: 2s
        windows:
          - { name: "10s", type: tumbling, size: 10s }
          - { name: "30s", type: hopping, size: 30s, slide: 10s }
        indicators:
          - { name: fast, window: "10s", type: sma, of: close, period: 3 }
          - { name: slow, window: "10s", type: sma, of: close, period: 8 }
          - { name: vol_z, window: "10s", type: zscore, of: volume, period: 8 }
          - { name: bb, window: "30s", type: bollinger, of: close, period: 6, k: 1.5 }
        """;

    private const string A = Windows + """

        rules:
          - { name: golden_cross, window: "10s", when: "crosses_above(fast, slow)" }
          - { name: volume_anomaly, window: "10s", when: "vol_z >= 1.5 and close > open" }
          - { name: band_break, window: "30s", when: "crosses_below(close, bb.lower) or change_pct(close, 2) < -0.05" }
          - { name: surge, window: "10s", type: volume_surge, factor: 1.3, lookback: 5 }
        """;

    // Thresholds changed, one rule added.
    private const string B = Windows + """

        rules:
          - { name: golden_cross, window: "10s", when: "crosses_above(fast, slow)" }
          - { name: volume_anomaly, window: "10s", when: "vol_z >= 0.8 and close > open", for: 2 }
          - { name: band_break, window: "30s", when: "crosses_below(close, bb.lower) or change_pct(close, 2) < -0.02" }
          - { name: surge, window: "10s", type: volume_surge, factor: 1.8, lookback: 5 }
          - { name: dip, window: "10s", when: "close < slow and prev(close, 1) >= prev(slow, 1)" }
        """;

    // A rule removed, an indicator added and read.
    private const string C = Windows + """

          - { name: fast_z, window: "10s", type: zscore, of: fast, period: 4 }

        rules:
          - { name: golden_cross, window: "10s", when: "crosses_above(fast, slow) and fast_z > 0" }
          - { name: volume_anomaly, window: "10s", when: "vol_z >= 0.8 and close > open", for: 2 }
          - { name: dip, window: "10s", when: "close < slow and prev(close, 1) >= prev(slow, 1)" }
        """;

    [Fact]
    public async Task Up_ReloadedUnderLoad_FiresEachDefinitionsAlertsOnItsSideOfTheSwitch_AndLosesNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir();
        var ticks = KafkaPipelineTests.WriteTicks(dir, 120_000, disorder: false);
        var replays = new Dictionary<string, (string[] Bars, string[] Alerts)>();
        foreach (var (name, yaml) in new[] { ("a", A), ("b", B), ("c", C) })
        {
            await File.WriteAllTextAsync(dir.File($"{name}.yaml"), yaml, ct);
            await CliProcess.RunSucceedsAsync(dir, "replay", "-q", "--pipeline", dir.File($"{name}.yaml"), "--input", ticks, "--bars-out", dir.File($"{name}-bars.ndjson"), "--alerts-out", dir.File($"{name}-alerts.ndjson"));
            replays[name] = (File.ReadAllLines(dir.File($"{name}-bars.ndjson")), File.ReadAllLines(dir.File($"{name}-alerts.ndjson")));
        }

        var pipeline = dir.File("pipeline.yaml");
        await File.WriteAllTextAsync(pipeline, A, ct);
        var url = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        var store = $"duckdb://{dir.File("up.duckdb")}";

        // The synthetic file has 120 ticks per second of event time: at 84× that is about 10K ticks/s.
        var info = CliProcess.StartInfo(dir.Path, new Dictionary<string, string> { ["BREADBOARD_API_KEY"] = ApiKey }, "up", "--pipeline", pipeline, "--feed", $"replay:{ticks}", "--speed", "84", "--urls", url, "--store", store, "--no-checkpoint");
        var (stdout, stderr) = (new Lines(), new Lines());
        using var up = Start(WithHangup(info, "default"), stdout, stderr);
        string w1, w2;
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(url) };
            await WaitForAsync(async () => await TicksAsync(http) > 20_000, up, stderr);
            var digestA = await DigestAsync(http);

            // Refused: a file that does not load, one that changes a window, a request without the key.
            await File.WriteAllTextAsync(pipeline, A.Replace("vol_z >= 1.5", "vol_z >=", StringComparison.Ordinal), ct);
            var bad = await ReloadAsync(http, ApiKey);
            Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.Status);
            Assert.Contains("rules[1].when", bad.Body, StringComparison.Ordinal);
            await File.WriteAllTextAsync(pipeline, A.Replace("size: 10s", "size: 20s", StringComparison.Ordinal), ct);
            var windows = await ReloadAsync(http, ApiKey);
            Assert.Equal(HttpStatusCode.UnprocessableEntity, windows.Status);
            Assert.Contains("'windows' cannot change while the pipeline runs", windows.Body, StringComparison.Ordinal);
            await File.WriteAllTextAsync(pipeline, B, ct);
            Assert.Equal(HttpStatusCode.Unauthorized, (await ReloadAsync(http, "wrong")).Status);
            Assert.Equal(digestA, await DigestAsync(http));

            var reloaded = await ReloadAsync(http, ApiKey);
            Assert.True(reloaded.Status == HttpStatusCode.OK, reloaded.Body);
            using (var json = JsonDocument.Parse(reloaded.Body))
            {
                w1 = json.RootElement.GetProperty("watermark").GetString()!;
                Assert.Equal(json.RootElement.GetProperty("digest").GetString(), await DigestAsync(http));
                Assert.Contains("rule 'dip' added", reloaded.Body, StringComparison.Ordinal);
            }

            // Then SIGHUP, which says on the console what it did.
            await WaitForAsync(async () => await TicksAsync(http) > 60_000, up, stderr);
            await File.WriteAllTextAsync(pipeline, C, ct);
            using (var hangup = Process.Start("kill", ["-HUP", up.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await hangup.WaitForExitAsync(ct);
            }

            // A refusal says why on stdout: fail with it at once rather than wait for a "reloaded" that cannot come.
            await WaitForAsync(() => Task.FromResult(stdout.Find("reloaded ") is not null || stdout.Find("reload refused") is not null), up, stderr, stdout);
            Assert.True(stdout.Find("reload refused") is null, stdout.Find("reload refused"));
            var line = stdout.Find("reloaded ")!;
            w2 = line[(line.IndexOf("after watermark ", StringComparison.Ordinal) + "after watermark ".Length)..].Split(' ')[0];
            Assert.Contains("rule 'surge' removed", line, StringComparison.Ordinal);
            Assert.Contains("indicator 'fast_z' added", line, StringComparison.Ordinal);

            await WaitForAsync(() => Task.FromResult(stdout.Find("replay finished") is not null), up, stderr, stdout);
        }
        finally
        {
            using var term = Process.Start("kill", ["-TERM", up.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await term.WaitForExitAsync(CancellationToken.None);
            await up.WaitForExitAsync(CancellationToken.None);
        }

        Assert.True(EventTime.TryParse(w1, out var switch1), w1);
        Assert.True(EventTime.TryParse(w2, out var switch2), w2);
        Assert.True(switch1 < switch2);
        await CliProcess.RunSucceedsAsync(dir, "export", "--store", store, "--bars-out", dir.File("up-bars.ndjson"), "--alerts-out", dir.File("up-alerts.ndjson"));

        // Nothing lost or repeated: the bars are replay's (rules do not change bars).
        Assert.Equal(replays["a"].Bars.Order(StringComparer.Ordinal), CliProcess.SortedLines(dir.File("up-bars.ndjson")));

        // A bar closes once the watermark reaches its end: those ending by a switch are the old definition's.
        string[] expected =
        [
            .. replays["a"].Alerts.Where(l => Ts(l) <= switch1),
            .. replays["b"].Alerts.Where(l => Ts(l) > switch1 && Ts(l) <= switch2),
            .. replays["c"].Alerts.Where(l => Ts(l) > switch2),
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), CliProcess.SortedLines(dir.File("up-alerts.ndjson")));
        Assert.Contains(expected, l => l.Contains("\"rule\":\"dip\"", StringComparison.Ordinal) && Ts(l) <= switch2);
        Assert.Contains(expected, l => l.Contains("\"rule\":\"golden_cross\"", StringComparison.Ordinal) && Ts(l) > switch2);
    }

    [Fact]
    public async Task Up_StartedWithSighupIgnored_SaysOnStderrThatItWillNotReloadOnIt()
    {
        using var dir = new TempDir();
        await File.WriteAllTextAsync(dir.File("pipeline.yaml"), A, TestContext.Current.CancellationToken);
        var info = CliProcess.StartInfo(dir.Path, null, "up", "--pipeline", dir.File("pipeline.yaml"), "--no-web", "--store", $"duckdb://{dir.File("up.duckdb")}");
        var (stdout, stderr) = (new Lines(), new Lines());
        using var up = Start(WithHangup(info, "ignore"), stdout, stderr);
        try
        {
            await WaitForAsync(() => Task.FromResult(stderr.Find("SIGHUP is ignored") is not null), up, stderr, stdout);
            Assert.Contains("POST /api/pipeline/reload", stderr.Find("SIGHUP is ignored"), StringComparison.Ordinal);
        }
        finally
        {
            up.Kill(entireProcessTree: true);
            await up.WaitForExitAsync(CancellationToken.None);
        }
    }

    /// <summary>Starts the command, its output going into <paramref name="stdout"/> and <paramref name="stderr"/>.</summary>
    private static Process Start(ProcessStartInfo info, Lines stdout, Lines stderr)
    {
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => stdout.Add(e.Data);
        process.ErrorDataReceived += (_, e) => stderr.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>
    /// Starts the command with SIGHUP's disposition set (<c>env --default-signal</c> or <c>--ignore-signal</c>):
    /// a test runner started under nohup would otherwise hand its own "ignore" down to <c>up</c>.
    /// </summary>
    private static ProcessStartInfo WithHangup(ProcessStartInfo info, string disposition)
    {
        info.ArgumentList.Insert(0, info.FileName);
        info.ArgumentList.Insert(0, $"--{disposition}-signal=HUP");
        info.FileName = "env";
        return info;
    }

    private static long Ts(string line) =>
        EventTime.TryParse(JsonDocument.Parse(line).RootElement.GetProperty("ts").GetString()!, out var ms) ? ms : throw new FormatException(line);

    private static async Task<long> TicksAsync(HttpClient http)
    {
        using var json = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/pipeline", UriKind.Relative)));
        return json.RootElement.GetProperty("ticks").GetInt64();
    }

    private static async Task<string> DigestAsync(HttpClient http)
    {
        using var json = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/pipeline", UriKind.Relative)));
        return json.RootElement.GetProperty("definition").GetProperty("digest").GetString()!;
    }

    private static async Task<(HttpStatusCode Status, string Body)> ReloadAsync(HttpClient http, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/pipeline/reload", UriKind.Relative));
        request.Headers.Add("X-Api-Key", key);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Polls until <paramref name="done"/>, failing with the process's stderr if it exits or three minutes pass.</summary>
    /// <remarks>Three, not one: a clean-clone run with other servers busy on the machine once took longer than a
    /// minute to reach the end of the paced file.</remarks>
    private static async Task WaitForAsync(Func<Task<bool>> done, Process up, Lines stderr, Lines? stdout = null)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(3))
        {
            Assert.False(up.HasExited, $"up exited: {stderr}");
            try
            {
                if (await done())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not answering yet.
            }

            await Task.Delay(50, CancellationToken.None);
        }

        Assert.Fail($"timed out: {stderr}\nlast lines on stdout:\n{stdout?.Last(30)}");
    }

    private sealed class Lines
    {
        private readonly List<string> _lines = [];

        public void Add(string? line)
        {
            if (line is not null)
            {
                lock (_lines)
                {
                    _lines.Add(line);
                }
            }
        }

        public string? Find(string text)
        {
            lock (_lines)
            {
                return _lines.FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
            }
        }

        public string Last(int count)
        {
            lock (_lines)
            {
                return string.Join('\n', _lines.TakeLast(count));
            }
        }

        public override string ToString()
        {
            lock (_lines)
            {
                return string.Join('\n', _lines);
            }
        }
    }
}
