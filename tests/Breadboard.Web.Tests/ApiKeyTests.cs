using System.Net;
using Breadboard.Core.Pipeline;
using Breadboard.DuckDb;
using Breadboard.Web.Live;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Breadboard.Web.Tests;

/// <summary>Mutating endpoints need the configured key; with no key configured they are disabled, not open.</summary>
public class ApiKeyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(null, null, HttpStatusCode.Forbidden)]
    [InlineData(null, "anything", HttpStatusCode.Forbidden)]
    [InlineData("s3cret-key", null, HttpStatusCode.Unauthorized)]
    [InlineData("s3cret-key", "wrong", HttpStatusCode.Unauthorized)]
    [InlineData("s3cret-key", "s3cret-key", HttpStatusCode.OK)]
    public async Task MutatingEndpoint_ChecksTheKey(string? configured, string? sent, HttpStatusCode expected)
    {
        await using var store = DuckDbStore.Open(DuckDbStore.InMemoryPath);
        await store.InitializeAsync(Ct);
        await using var app = WebServer.Build(
            new WebOptions { Urls = "http://127.0.0.1:0", Pipeline = PipelineDefinition.Default, StoreUrl = "duckdb://:memory:", ApiKey = configured }, store, new LiveHub());
        app.MapPost("/api/test-mutation", () => TypedResults.Ok()).RequireApiKey();
        await app.StartAsync(Ct);
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/test-mutation");
        if (sent is not null)
        {
            request.Headers.Add(ApiKey.Header, sent);
        }

        using var response = await http.SendAsync(request, Ct);

        Assert.Equal(expected, response.StatusCode);
        await app.StopAsync(Ct);
    }

    [Fact]
    public async Task Ready_WhenTheStoreFails_Answers503NamingIt()
    {
        var store = DuckDbStore.Open(DuckDbStore.InMemoryPath);
        await store.InitializeAsync(Ct);
        await using var app = WebServer.Build(
            new WebOptions { Urls = "http://127.0.0.1:0", Pipeline = PipelineDefinition.Default, StoreUrl = "duckdb://:memory:" }, store, new LiveHub());
        await app.StartAsync(Ct);
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        await store.DisposeAsync(); // the store goes away under the running server

        using var response = await http.GetAsync(new Uri("/health/ready", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("\"store\"", body, StringComparison.Ordinal);
        Assert.Contains("\"down\"", body, StringComparison.Ordinal);
        await app.StopAsync(Ct);
    }
}
