using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Rules;
using Breadboard.Core.Seams;
using Breadboard.Runtime.Faces;

namespace Breadboard.Web.Tests.Indicators;

/// <summary>
/// <c>POST /api/backtest</c> over the indicator fixture's DuckDB store: the alerts are those of
/// <see cref="Backtest.RunAsync"/> with the proposed rule, the loader's errors name the rule's field, and the
/// endpoint keeps to the browser boundary, one run at a time.
/// </summary>
[Collection(nameof(IndicatorServerGroup))]
public class BacktestApiTests(IndicatorFixture web)
{
    private const long HourMs = 3_600_000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StringContent Body(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private static Dictionary<string, object> Dip(string when = "rsi14 < 40", int forBars = 2) => new Dictionary<string, object> { ["name"] = "dip", ["window"] = "1m", ["when"] = when, ["for"] = forBars };

    private static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(HttpClient http, object body)
    {
        using var response = await http.PostAsync(new Uri("/api/backtest", UriKind.Relative), Body(body), Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static string[] Errors(JsonElement problem, string field) =>
        [.. problem.GetProperty("errors").GetProperty(field).EnumerateArray().Select(e => e.GetString()!)];

    /// <summary>Ids of what <see cref="Backtest.RunAsync"/> fires with <paramref name="rule"/> as the only rule, over the last <paramref name="hours"/> of the store.</summary>
    private async Task<(List<string> Ids, BacktestResult Result, PipelineDefinition Pipeline, long From, long To)> ExpectedAsync(RuleDefinition rule, int hours, string? symbol = null)
    {
        var span = await web.Store.MeasureTicksAsync(new TickQuery(Symbol: symbol), Ct);
        var pipeline = web.Pipeline with { Rules = [rule] };
        var to = span.LastTs + 1;
        var from = to - (hours * HourMs);
        var result = await Backtest.RunAsync(new BacktestOptions { Store = web.Store, Pipeline = pipeline, From = from, To = to, Symbols = symbol is null ? null : [symbol], Keep = true }, cancellationToken: Ct);
        return ([.. result.KeptAlerts.OrderBy(a => a.Ts).ThenBy(a => a.Id, StringComparer.Ordinal).Select(a => a.Id)], result, pipeline, from, to);
    }

    [Fact]
    public async Task Backtest_OfANewExpressionRule_AnswersTheAlertsOfBacktestRunAsync()
    {
        var (status, body) = await PostAsync(web.Http, new { rule = Dip(), hours = 3 });

        Assert.True(status == HttpStatusCode.OK, body.ToString());
        var (ids, result, pipeline, from, to) = await ExpectedAsync(ExpressionRule.Define("dip", "1m", "rsi14 < 40", 2, web.Pipeline.Indicators), 3);
        Assert.NotEmpty(ids);
        Assert.Equal(ids, body.GetProperty("alerts").EnumerateArray().Select(a => a.GetProperty("id").GetString()));
        Assert.All(body.GetProperty("alerts").EnumerateArray(), a => Assert.Equal("dip", a.GetProperty("rule").GetString()));
        Assert.Equal(ids.Count, body.GetProperty("alert_count").GetInt64());
        Assert.Equal(result.Ticks - result.WarmupTicks, body.GetProperty("ticks").GetInt64());
        Assert.Equal(result.Bars, body.GetProperty("bars").GetInt64());
        Assert.Equal(EventTime.ToIso(from), body.GetProperty("from").GetString());
        Assert.Equal(EventTime.ToIso(to), body.GetProperty("to").GetString());
        Assert.Equal(EventTime.ToIso(result.ReadFrom!.Value), body.GetProperty("warmup_from").GetString());
        Assert.Equal(pipeline.Digest(), body.GetProperty("pipeline").GetString());
    }

    [Fact]
    public async Task Backtest_OfTheRunningRuleUnchanged_FiresWhatTheLivePipelineFiredInTheRange()
    {
        var (status, body) = await PostAsync(web.Http, new { rule = new Dictionary<string, object> { ["name"] = "rsi_hot", ["window"] = "1m", ["when"] = "rsi14 > 60", ["for"] = 2 }, hours = 4, symbol = "BTC-USD" });

        Assert.True(status == HttpStatusCode.OK, body.ToString());
        Assert.True(EventTime.TryParse(body.GetProperty("from").GetString()!, out var from));
        var live = web.Alerts.Where(a => a.Rule == "rsi_hot" && a.Symbol == "BTC-USD" && a.WindowStart >= from).OrderBy(a => a.Ts).Select(a => a.Id).ToList();
        Assert.NotEmpty(live);
        Assert.Equal(live, body.GetProperty("alerts").EnumerateArray().Select(a => a.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Backtest_WithABadWhen_Is400NamingTheFieldAndColumn()
    {
        var (status, body) = await PostAsync(web.Http, new { rule = Dip(when: "rsi99 < 30"), hours = 3 });

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = Assert.Single(Errors(body, "rule.when"));
        Assert.Contains("column 1", error, StringComparison.Ordinal);
        Assert.Contains("rsi99", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public async Task Backtest_WithAnUnknownWindowAndField_NamesBoth()
    {
        var rule = new Dictionary<string, object> { ["name"] = "dip", ["window"] = "3m", ["when"] = "close > open", ["colour"] = "red" };

        var (status, body) = await PostAsync(web.Http, new { rule, hours = 3 });

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("3m", Assert.Single(Errors(body, "rule.window")), StringComparison.Ordinal);
        Assert.NotEmpty(Errors(body, "rule.colour"));
    }

    [Theory]
    [InlineData("""{"name": "dip", "window": "1m", "when": {"a": [1, {"b": "c"}]}}""", "rule.when")]
    [InlineData("""{"name": "d\"i\\p\n\u00e9\ud83d\ude00: [x]", "window": "1m", "when": "close > open"}""", "rule.name")]
    [InlineData("""{"name": "dip", "window": "1m", "when": "close > open", "for": "#x"}""", "rule.for")]
    public async Task Backtest_WithAnyJsonInTheRule_AnswersTheLoadersErrorForTheField(string rule, string field)
    {
        using var response = await web.Http.PostAsync(
            new Uri("/api/backtest", UriKind.Relative),
            new StringContent($$"""{"rule": {{rule}}, "hours": 2}""", Encoding.UTF8, "application/json"),
            Ct);
        var text = await response.Content.ReadAsStringAsync(Ct);

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        Assert.NotEmpty(Errors(JsonDocument.Parse(text).RootElement, field));
    }

    [Fact]
    public async Task Backtest_WithABadRuleAndBadHours_NamesBothInOneAnswer()
    {
        var (status, body) = await PostAsync(web.Http, new { rule = Dip(when: "rsi14 <"), hours = 500 });

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.NotEmpty(Errors(body, "rule.when"));
        Assert.NotEmpty(Errors(body, "hours"));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("169")]
    [InlineData("2.5")]
    [InlineData("\"6\"")]
    public async Task Backtest_WithHoursOutOfRange_Is400(string hours)
    {
        using var response = await web.Http.PostAsync(
            new Uri("/api/backtest", UriKind.Relative),
            new StringContent($$"""{"rule": {"name": "dip", "window": "1m", "when": "close > open"}, "hours": {{hours}}}""", Encoding.UTF8, "application/json"),
            Ct);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("from 1 to 168", Assert.Single(Errors(body, "hours")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backtest_OfAnUnknownSymbol_Is400NamingIt()
    {
        var (status, body) = await PostAsync(web.Http, new { rule = Dip(), hours = 3, symbol = "NOPE-USD" });

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("NOPE-USD", Assert.Single(Errors(body, "symbol")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backtest_OverAnEmptyStore_Is400SayingSo()
    {
        await using var server = await RunningServer.StartAsync(new ScriptedStore(), RunningServer.Options() with { Pipeline = web.Pipeline });

        var (status, body) = await PostAsync(server.Http, new { rule = Dip(), hours = 3 });

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("no ticks", body.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backtest_FromAForeignOrigin_IsRefused()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/backtest") { Content = Body(new { rule = Dip(), hours = 3 }) };
        request.Headers.Add("Origin", "https://evil.example");

        using var response = await web.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Backtest_FromTheServersOwnOrigin_NeedsNoApiKey()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/backtest") { Content = Body(new { rule = Dip(), hours = 1 }) };
        request.Headers.Add("Origin", web.BaseAddress.GetLeftPart(UriPartial.Authority));

        using var response = await web.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Backtest_WhileAnotherRuns_Is429_AndACancelledRunFreesTheServer()
    {
        var store = new HeldStore(web.Store);
        await using var server = await RunningServer.StartAsync(store, RunningServer.Options() with { Pipeline = web.Pipeline });
        using var first = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var running = server.Http.PostAsync(new Uri("/api/backtest", UriKind.Relative), Body(new { rule = Dip(), hours = 3 }), first.Token);
        await store.Reading.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        using var second = await server.Http.PostAsync(new Uri("/api/backtest", UriKind.Relative), Body(new { rule = Dip(), hours = 3 }), Ct);
        var refused = JsonDocument.Parse(await second.Content.ReadAsStringAsync(Ct)).RootElement;

        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Contains("another backtest is running", refused.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.NotNull(second.Headers.RetryAfter);

        // The client goes away: the held read sees the request's cancellation, and the next backtest runs.
        await first.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        await store.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        HttpStatusCode status;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        do
        {
            (status, _) = await PostAsync(server.Http, new { rule = Dip(), hours = 1 });
        }
        while (status == HttpStatusCode.TooManyRequests && DateTime.UtcNow < deadline && await Delay());

        Assert.Equal(HttpStatusCode.OK, status);
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(100, Ct);
        return true;
    }

    /// <summary>The fixture's store, but the first tick read waits until its request is cancelled.</summary>
    private sealed class HeldStore(IMarketStore inner) : IMarketStore
    {
        private int _reads;

        public TaskCompletionSource Reading { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask InitializeAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask WriteAsync(StoreBatch batch, CancellationToken cancellationToken = default) => throw new InvalidOperationException("a backtest never writes");

        public IAsyncEnumerable<Bar> QueryBarsAsync(BarQuery query, CancellationToken cancellationToken = default) => inner.QueryBarsAsync(query, cancellationToken);

        public IAsyncEnumerable<Alert> QueryAlertsAsync(AlertQuery query, CancellationToken cancellationToken = default) => inner.QueryAlertsAsync(query, cancellationToken);

        public IAsyncEnumerable<Tick> QueryTicksAsync(TickQuery query, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref _reads) == 1 ? HoldAsync(cancellationToken) : inner.QueryTicksAsync(query, cancellationToken);

        public ValueTask<TickSpan> MeasureTicksAsync(TickQuery query, CancellationToken cancellationToken = default) => inner.MeasureTicksAsync(query, cancellationToken);

        public IAsyncEnumerable<SymbolSummary> QuerySymbolsAsync(CancellationToken cancellationToken = default) => inner.QuerySymbolsAsync(cancellationToken);

        public ValueTask<PipelineCounts> ReadCountsAsync(CancellationToken cancellationToken = default) => inner.ReadCountsAsync(cancellationToken);

        public ValueTask<Checkpoint?> LoadCheckpointAsync(string key, CancellationToken cancellationToken = default) => inner.LoadCheckpointAsync(key, cancellationToken);

        public ValueTask WriteBatchRunAsync(BatchRun run, CancellationToken cancellationToken = default) => throw new InvalidOperationException("a backtest never writes");

        public IAsyncEnumerable<BatchRun> QueryBatchRunsAsync(int limit, CancellationToken cancellationToken = default) => inner.QueryBatchRunsAsync(limit, cancellationToken);

        public ValueTask WritePipelineAsync(StoredPipeline pipeline, CancellationToken cancellationToken = default) => throw new InvalidOperationException("a backtest never writes");

        public ValueTask<StoredPipeline?> LoadPipelineAsync(CancellationToken cancellationToken = default) => inner.LoadPipelineAsync(cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask; // the fixture's store outlives this server

        private async IAsyncEnumerable<Tick> HoldAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            Reading.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            finally
            {
                Cancelled.TrySetResult();
            }

            yield break;
        }
    }
}
