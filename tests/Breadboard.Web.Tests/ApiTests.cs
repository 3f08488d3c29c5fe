using System.Net;
using System.Text.Json;
using Breadboard.Core.Model;

namespace Breadboard.Web.Tests;

[Collection(nameof(WebServerGroup))]
public class ApiTests(WebFixture web)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<JsonElement> GetJson(string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await web.Http.GetAsync(new Uri(path, UriKind.Relative), Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == expected, $"{path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    [Fact]
    public async Task Bars_ForSymbolAndWindow_ReturnsWhatTheEngineEmitted()
    {
        var expected = web.Bars.Where(b => b.Symbol == "BTC-USD" && b.Window == "5m").OrderBy(b => b.WindowStart).TakeLast(200).ToList();

        var bars = await GetJson("/api/bars?symbol=BTC-USD&window=5m&limit=200");

        Assert.Equal(expected.Count, bars.GetArrayLength());
        for (var i = 0; i < expected.Count; i++)
        {
            var got = bars[i];
            Assert.Equal(EventTime.ToIso(expected[i].WindowStart), got.GetProperty("window_start").GetString());
            Assert.Equal(EventTime.ToIso(expected[i].WindowEnd), got.GetProperty("window_end").GetString());
            Assert.Equal(expected[i].Open, got.GetProperty("open").GetDouble());
            Assert.Equal(expected[i].Close, got.GetProperty("close").GetDouble());
            Assert.Equal(expected[i].Trades, got.GetProperty("trades").GetInt64());
        }
    }

    [Fact]
    public async Task Bars_FromTo_SelectsOnWindowStart()
    {
        var all = web.Bars.Where(b => b.Symbol == "AAPL" && b.Window == "1m").OrderBy(b => b.WindowStart).ToList();
        var from = all[10].WindowStart;
        var to = all[20].WindowStart;

        var bars = await GetJson($"/api/bars?symbol=AAPL&window=1m&from={EventTime.ToIso(from)}&to={to}");

        Assert.Equal(10, bars.GetArrayLength());
        Assert.Equal(EventTime.ToIso(from), bars[0].GetProperty("window_start").GetString());
    }

    [Fact]
    public async Task Bars_WithBadParameters_Returns400ProblemNamingEachParameter()
    {
        using var response = await web.Http.GetAsync(new Uri("/api/bars?window=7m&from=yesterday&to=2026-13-01&limit=zero", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("errors");
        foreach (var name in new[] { "symbol", "window", "from", "to", "limit" })
        {
            Assert.True(errors.TryGetProperty(name, out _), $"no error for {name}: {errors}");
        }
    }

    [Fact]
    public async Task Ticks_WithHugeLimit_IsCapped()
    {
        Assert.True(web.TickCount > WebFixture.MaxLimit);

        var ticks = await GetJson("/api/ticks?limit=99999999999");

        Assert.Equal(WebFixture.MaxLimit, ticks.GetArrayLength());
    }

    [Fact]
    public async Task Symbols_ListsEveryTradedSymbolWithLastPriceAndChange()
    {
        var symbols = await GetJson("/api/symbols");

        var names = symbols.EnumerateArray().Select(s => s.GetProperty("symbol").GetString()).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["AAPL", "BTC-USD", "ETH-USD"], names);
        foreach (var s in symbols.EnumerateArray())
        {
            Assert.True(s.GetProperty("last_price").GetDouble() > 0);
            var reference = s.GetProperty("reference_price").GetDouble();
            var change = s.GetProperty("change_percent").GetDouble();
            Assert.Equal((s.GetProperty("last_price").GetDouble() - reference) / reference * 100, change, 3);
            Assert.Equal(s.GetProperty("symbol").GetString() == "AAPL" ? "stock" : "crypto", s.GetProperty("asset_class").GetString());
        }
    }

    [Fact]
    public async Task Alerts_FilteredByRule_ReturnsOnlyThatRuleWithTheDigestOfItsPipeline()
    {
        Assert.NotEmpty(web.Alerts);
        var (rule, pipeline) = (web.Alerts[0].Rule, web.Alerts[0].Pipeline);
        Assert.NotNull(pipeline);

        var alerts = await GetJson($"/api/alerts?rule={rule}&limit=10000");

        Assert.Equal(web.Alerts.Count(a => a.Rule == rule), alerts.GetArrayLength());
        Assert.All(alerts.EnumerateArray(), a => Assert.Equal(rule, a.GetProperty("rule").GetString()));
        Assert.All(alerts.EnumerateArray(), a => Assert.Equal(pipeline, a.GetProperty("pipeline").GetString()));
    }

    [Fact]
    public async Task Ticks_WithLimit_ReturnsTheLatestInOrder()
    {
        var ticks = await GetJson("/api/ticks?symbol=ETH-USD&limit=50");

        Assert.Equal(50, ticks.GetArrayLength());
        var times = ticks.EnumerateArray().Select(t => t.GetProperty("ts").GetString()!).ToList();
        Assert.Equal(times.Order(StringComparer.Ordinal), times);
    }

    [Fact]
    public async Task Pipeline_WithoutARunningPipeline_ReportsStoreCountsAndBackends()
    {
        var status = await GetJson("/api/pipeline");

        Assert.False(status.GetProperty("running").GetBoolean());
        Assert.Equal(JsonValueKind.Null, status.GetProperty("ticks").ValueKind);
        var store = Assert.Single(status.GetProperty("backends").EnumerateArray());
        Assert.Equal("store", store.GetProperty("name").GetString());
        Assert.Equal("up", store.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Health_LiveAndReady_Answer200()
    {
        await GetJson("/health/live");
        var ready = await GetJson("/health/ready");
        Assert.Equal("ready", ready.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Metrics_ArePrometheusText()
    {
        var text = await web.Http.GetStringAsync(new Uri("/metrics", UriKind.Relative), Ct);

        Assert.Contains("breadboard_ticks_total", text, StringComparison.Ordinal);
        Assert.Contains("breadboard_stream_clients", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenApi_DescribesTheEndpoints()
    {
        var doc = await GetJson("/openapi/v1.json");

        var paths = doc.GetProperty("paths");
        foreach (var path in new[] { "/api/symbols", "/api/bars", "/api/ticks", "/api/alerts", "/api/batch", "/api/pipeline", "/health/ready" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is not in the OpenAPI document");
        }
    }

    [Fact]
    public async Task Batch_ListsTheJobHistoryNewestFirst_AndRefusesABadLimit()
    {
        await web.Store.WriteBatchRunAsync(new Core.Seams.BatchRun("api-r1", "historical_fetch", 1_767_225_600_000, 1_767_225_660_000, "succeeded", 360, ""), Ct);
        await web.Store.WriteBatchRunAsync(new Core.Seams.BatchRun("api-r2", "historical_fetch", 1_767_247_200_000, null, "running", 0, "", 2), Ct);

        var runs = await GetJson("/api/batch?limit=2");

        Assert.Equal(2, runs.GetArrayLength());
        var newest = runs[0];
        Assert.Equal(("api-r2", "running", 2, JsonValueKind.Null), (newest.GetProperty("run_id").GetString(), newest.GetProperty("status").GetString(), newest.GetProperty("attempt").GetInt32(), newest.GetProperty("ended").ValueKind));
        Assert.Equal(("2026-01-01T00:01:00.000Z", 360), (runs[1].GetProperty("ended").GetString(), runs[1].GetProperty("rows").GetInt32()));
        var problem = await GetJson("/api/batch?limit=none", HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("limit", out _));
    }

    [Fact]
    public void DefaultUrls_AreLoopbackOnly() => Assert.Equal("http://127.0.0.1:8000", WebOptions.DefaultUrls);
}
