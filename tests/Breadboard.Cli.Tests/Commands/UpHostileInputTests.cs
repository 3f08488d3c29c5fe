using System.Diagnostics;
using System.Text.Json;
using Breadboard.TestKit;

namespace Breadboard.Cli.Tests.Commands;

/// <summary><c>up</c> fed hostile ticks: each refused with its reason, counted and shown on /api/pipeline, and the pipeline goes on.</summary>
public class UpHostileInputTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Up_WithTicksFromTheFutureAndHugePrices_RefusesThemAndShowsThemOnTheApi()
    {
        using var dir = new TempDir();
        var lines = Enumerable.Range(0, 120).Select(i => $$"""{"symbol":"AAPL","ts":{{1_767_364_200_000 + (i * 1_000L)}},"price":{{100 + (i % 5)}},"volume":1}""").ToList();
        lines.Insert(30, """{"symbol":"AAPL","ts":"2099-06-01T00:00:00Z","price":100,"volume":1}""");  // a bad clock: ahead of now
        lines.Insert(60, """{"symbol":"AAPL","ts":1767364260000,"price":1e308,"volume":10}""");        // a price no market has
        var input = dir.File("ticks.ndjson");
        await File.WriteAllLinesAsync(input, lines, Ct);
        var port = ServerProcess.FreePort();

        using var up = Process.Start(CliProcess.StartInfo(dir.Path, null, "up", "--feed", $"replay:{input}", "--speed", "1000000", "--urls", $"http://127.0.0.1:{port}", "--store", $"duckdb://{dir.File("up.duckdb")}"))!;
        var stderr = up.StandardError.ReadToEndAsync(Ct);
        _ = up.StandardOutput.ReadToEndAsync(Ct);
        try
        {
            using var http = new HttpClient();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            JsonElement status = default;
            while (DateTime.UtcNow < deadline && !up.HasExited)
            {
                try
                {
                    using var doc = JsonDocument.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/api/pipeline"), Ct));
                    status = doc.RootElement.Clone();
                    if (!status.GetProperty("running").GetBoolean() && status.GetProperty("ticks").GetInt64() > 0)
                    {
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                    // not listening yet
                }

                await Task.Delay(200, Ct);
            }

            Assert.False(up.HasExited, up.HasExited ? await stderr : null);
            Assert.Equal(2, status.GetProperty("rejects").GetInt64());
            Assert.Equal(1, status.GetProperty("future").GetInt64());
            Assert.Equal(0, status.GetProperty("held").GetInt32());
            Assert.Equal(0, status.GetProperty("late").GetInt64());
            // Either refusal may be the latest: the line-61 reject is counted as read, the 2099 tick when the engine takes it.
            var last = status.GetProperty("last_reject").GetString()!;
            Assert.True(
                last == $"{input}:61: field 'price' must be a number from 1e-15 to 1e15 (got 1E+308)"
                || (last.StartsWith("AAPL: ts 2099-06-01T00:00:00.000Z is ", StringComparison.Ordinal) && last.Contains("ahead of the wall clock", StringComparison.Ordinal)),
                last);
            Assert.Equal(200, (int)(await http.GetAsync(new Uri($"http://127.0.0.1:{port}/api/bars?symbol=AAPL&window=1m"), Ct)).StatusCode);
        }
        finally
        {
            up.Kill(entireProcessTree: true);
            await up.WaitForExitAsync(Ct);
        }
    }
}
