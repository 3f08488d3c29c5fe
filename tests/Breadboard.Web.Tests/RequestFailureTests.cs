using System.Net;
using System.Text.Json;
using Breadboard.Core.Model;
using Breadboard.DuckDb;
using Microsoft.Extensions.Logging;

namespace Breadboard.Web.Tests;

/// <summary>
/// A request that fails is logged once, with a request id its answer carries; the answer never shows the
/// exception's message; a stream that fails after its headers went out is cut off, not passed off as complete.
/// </summary>
public class RequestFailureTests
{
    private const string Secret = "clickhouse://breadboard:hunter2@db.internal:8123";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Bars_WhenTheStoreWentAway_Answers500WithARequestId_AndLogsItOnce()
    {
        var store = DuckDbStore.Open(DuckDbStore.InMemoryPath);
        await store.InitializeAsync(Ct);
        await using var server = await RunningServer.StartAsync(store, RunningServer.Options("duckdb://:memory:"));
        await store.DisposeAsync(); // the store goes away under the running server

        using var response = await server.Http.GetAsync(new Uri("/api/bars?symbol=BTC-USD&window=1m", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;
        var requestId = problem.GetProperty("request_id").GetString();
        Assert.False(string.IsNullOrEmpty(requestId));
        Assert.Equal(requestId, Assert.Single(response.Headers.GetValues(WebServer.RequestIdHeader)));
        Assert.False(problem.TryGetProperty("trace_id", out _), "one id only: request_id");
        var logged = Assert.Single(server.Logs.Entries, e => e.EventId.Id == WebLog.RequestFailedId);
        Assert.Equal(LogLevel.Error, logged.Level);
        Assert.NotNull(logged.Exception);
        Assert.Contains(requestId, logged.Message, StringComparison.Ordinal);
        Assert.Contains("/api/bars", logged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_WhenItFails_AnswersAGenericMessage_WithoutTheExceptionsDetails()
    {
        var store = new ScriptedStore { Failure = new InvalidOperationException($"cannot reach {Secret}: connection refused") };
        await using var server = await RunningServer.StartAsync(store);

        using var response = await server.Http.GetAsync(new Uri("/api/alerts", UriKind.Relative), Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.DoesNotContain("hunter2", body, StringComparison.Ordinal);
        Assert.DoesNotContain("db.internal", body, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);
        var logged = Assert.Single(server.Logs.Entries, e => e.Level >= LogLevel.Error);
        Assert.Same(store.Failure, logged.Exception);
    }

    [Fact]
    public async Task Bars_WhenTheStoreFailsAfterTheHeadersWentOut_AbortsTheConnection_AndLogsIt()
    {
        var store = new ScriptedStore { Failure = new IOException("store connection reset"), FailAfter = 5_000 };
        for (var i = 0; i < 6_000; i++)
        {
            store.Bars.Add(new Bar("BTC-USD", "1m", i * 60_000L, (i + 1) * 60_000L, 1, 2, 0.5, 1.5, 10, 1.2, 3));
        }

        await using var server = await RunningServer.StartAsync(store);

        using var response = await server.Http.GetAsync(new Uri("/api/bars?symbol=BTC-USD&window=1m&limit=10000", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // the headers went out before the store failed
        var requestId = Assert.Single(response.Headers.GetValues(WebServer.RequestIdHeader));

        // The body ends without its end: reading it fails, rather than returning a truncated array as if complete.
        await Assert.ThrowsAnyAsync<Exception>(() => response.Content.ReadAsStringAsync(Ct));
        var logged = Assert.Single(server.Logs.Entries, e => e.EventId.Id == WebLog.RequestAbortedId);
        Assert.Equal(LogLevel.Error, logged.Level);
        Assert.Same(store.Failure, logged.Exception);
        Assert.Contains(requestId, logged.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Logs.Entries, e => e.EventId.Id == WebLog.RequestFailedId);
    }
}
