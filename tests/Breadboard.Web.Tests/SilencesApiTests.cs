using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Breadboard.Core.Pipeline;
using Breadboard.DuckDb;
using Breadboard.Notify.Policy;
using Breadboard.Web.Live;

namespace Breadboard.Web.Tests;

/// <summary>Silences over HTTP: anyone lists them; creating and expiring needs the API key.</summary>
public sealed class SilencesApiTests
{
    private const string Key = "silence-key";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Silences_CreateListExpire_WithTheKey()
    {
        await using var server = await Server.StartAsync();
        using var create = Post(new { symbol = "BTC-*", rule = "price_drop", duration = "2h", comment = "exchange maintenance", created_by = "ops" });
        using var created = await server.Http.SendAsync(create, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var silence = JsonDocument.Parse(await created.Content.ReadAsStringAsync(Ct)).RootElement;
        var id = silence.GetProperty("id").GetString()!;
        Assert.Equal("BTC-*", silence.GetProperty("symbol").GetString());
        Assert.Equal(JsonValueKind.Null, silence.GetProperty("channel").ValueKind);
        var starts = DateTimeOffset.Parse(silence.GetProperty("starts_at").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var ends = DateTimeOffset.Parse(silence.GetProperty("ends_at").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.FromHours(2), ends - starts);

        var listed = await server.Http.GetFromJsonAsync<JsonElement>("/api/silences", Ct);
        Assert.Equal(id, Assert.Single(listed.EnumerateArray()).GetProperty("id").GetString());

        using var expire = new HttpRequestMessage(HttpMethod.Delete, $"/api/silences/{id}");
        expire.Headers.Add(ApiKey.Header, Key);
        using var expired = await server.Http.SendAsync(expire, Ct);
        Assert.Equal(HttpStatusCode.OK, expired.StatusCode);
        Assert.Empty((await server.Http.GetFromJsonAsync<JsonElement>("/api/silences", Ct)).EnumerateArray());
        Assert.Single((await server.Http.GetFromJsonAsync<JsonElement>("/api/silences?all=true", Ct)).EnumerateArray());

        // The store the notifiers read has it too.
        Assert.Single(await server.Store.ListAsync(includeExpired: true, Ct));
    }

    [Fact]
    public async Task Silences_CreateWithoutKey_Refused_AndNothingStored()
    {
        await using var server = await Server.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/silences") { Content = JsonContent.Create(new { symbol = "ETH-USD", duration = "1h" }) };

        using var response = await server.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(await server.Store.ListAsync(includeExpired: true, Ct));
    }

    [Theory]
    [InlineData("""{"duration":"1h"}""", "silence", "give at least one of rule, symbol, channel")]
    [InlineData("""{"symbol":"BTC-USD"}""", "ends_at", "give exactly one of ends_at and duration")]
    [InlineData("""{"symbol":"BTC-USD","duration":"soon"}""", "duration", "'soon' is not a duration")]
    [InlineData("""{"symbol":"BTC-USD","ends_at":"2001-01-01T00:00:00Z"}""", "ends_at", "ends_at must be after starts_at")]
    [InlineData("""{"rule":"r","duration":"9999999d"}""", "duration", "at most 366d")]
    [InlineData("""{"rule":"r","duration":"367d"}""", "duration", "at most 366d")]
    [InlineData("""{"rule":"r","starts_at":"2026-01-01T00:00:00Z","ends_at":"2027-01-03T00:00:00Z"}""", "ends_at", "at most 366d")]
    [InlineData("""{"rule":"r","starts_at":"9999-12-31T00:00:00Z","duration":"2d"}""", "duration", "after 9999")]
    [InlineData("""{"rule":"r","channel":"bogus","duration":"1h"}""", "channel", "email, slack, webhook")]
    [InlineData("""{"rule":"r","duration":"1h","colour":"red"}""", "colour", "unknown field")]
    [InlineData("""{"rule":"r","duration":"1h","Rule":"x"}""", "Rule", "unknown field")]
    [InlineData("""{"rule":5,"duration":"1h"}""", "rule", "must be a string")]
    [InlineData("""["rule"]""", "body", "must be a JSON object")]
    [InlineData("""{"rule":"r",""", "body", "not JSON")]
    public async Task Silences_BadRequest_Returns400NamingTheProblem(string body, string field, string message)
    {
        await using var server = await Server.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/silences") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add(ApiKey.Header, Key);

        using var response = await server.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("errors");
        Assert.Contains(message, errors.GetProperty(field)[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Silences_ManyBadFields_Returns400NamingEachOfThem()
    {
        await using var server = await Server.StartAsync();
        using var request = Post(new
        {
            rule = new string('r', 201),
            symbol = new string('S', 201) + "*",
            channel = "bogus",
            starts_at = "2026-01-02T00:00:00Z",
            ends_at = "2026-01-01T00:00:00Z",
            created_by = new string('o', 201),
            comment = new string('c', 1_001),
            extra = true,
        });

        using var response = await server.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("errors");
        Assert.Equal(
            ["channel", "comment", "created_by", "ends_at", "extra", "rule", "symbol"],
            errors.EnumerateObject().Select(e => e.Name).Order(StringComparer.Ordinal));
        Assert.Contains("at most 200", errors.GetProperty("rule")[0].GetString(), StringComparison.Ordinal);
        Assert.Contains("at most 1000", errors.GetProperty("comment")[0].GetString(), StringComparison.Ordinal);
        Assert.Empty(await server.Store.ListAsync(includeExpired: true, Ct));
    }

    [Fact]
    public async Task Silences_LongestAllowedFields_AreStored()
    {
        await using var server = await Server.StartAsync();
        using var request = Post(new { rule = new string('r', 200), channel = "webhook", duration = "366d", comment = new string('c', 1_000), created_by = new string('o', 200) });

        using var response = await server.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Single(await server.Store.ListAsync(includeExpired: true, Ct));
    }

    [Fact]
    public async Task Silences_BodyOverTheCap_Returns413_AndNothingStored()
    {
        await using var server = await Server.StartAsync();
        using var request = Post(new { rule = "r", duration = "1h", comment = new string('c', 10 * 1024 * 1024) });

        using var response = await server.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await server.Store.ListAsync(includeExpired: true, Ct));
    }

    [Fact]
    public async Task Silences_BodyOverTheCapByItsLength_Returns413()
    {
        await using var server = await Server.StartAsync();
        var body = JsonSerializer.Serialize(new { rule = "r", duration = "1h", comment = new string('c', 65 * 1024) });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/silences") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add(ApiKey.Header, Key);

        using var response = await server.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Empty(await server.Store.ListAsync(includeExpired: true, Ct));
    }

    [Theory]
    [InlineData("""{"rule":""")]
    [InlineData("""{"rule":"r","duration":"9999999d"}""")]
    public async Task Silences_WithoutKey_IsRefusedBeforeTheBodyIsParsed(string body)
    {
        await using var server = await Server.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/silences") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };

        using var response = await server.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Silences_WithoutKey_AHugeBodyIsRefusedWith401Not413()
    {
        await using var server = await Server.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/silences") { Content = JsonContent.Create(new { rule = "r", duration = "1h", comment = new string('c', 10 * 1024 * 1024) }) };

        using var response = await server.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Silences_ExpireUnknownId_Returns404()
    {
        await using var server = await Server.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Delete, "/api/silences/nope");
        request.Headers.Add(ApiKey.Header, Key);

        using var response = await server.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private static HttpRequestMessage Post(object body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/silences") { Content = JsonContent.Create(body) };
        request.Headers.Add(ApiKey.Header, Key);
        return request;
    }

    private sealed class Server : IAsyncDisposable
    {
        private readonly DuckDbStore _db;
        private readonly Microsoft.AspNetCore.Builder.WebApplication _app;
        private readonly string _dir;

        private Server(DuckDbStore db, Microsoft.AspNetCore.Builder.WebApplication app, FileSilenceStore store, string dir)
        {
            _db = db;
            _app = app;
            Store = store;
            _dir = dir;
            Http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        }

        public HttpClient Http { get; }

        public FileSilenceStore Store { get; }

        public static async Task<Server> StartAsync()
        {
            var dir = Directory.CreateTempSubdirectory("breadboard-silences-").FullName;
            var db = DuckDbStore.Open(DuckDbStore.InMemoryPath);
            await db.InitializeAsync(Ct);
            var store = new FileSilenceStore(Path.Combine(dir, "silences.json"), TimeProvider.System);
            var app = WebServer.Build(
                new WebOptions { Urls = "http://127.0.0.1:0", Pipeline = PipelineDefinition.Default, StoreUrl = "duckdb://:memory:", ApiKey = Key, Silences = store },
                db,
                new LiveHub());
            await app.StartAsync(Ct);
            return new Server(db, app, store, dir);
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
            await _db.DisposeAsync();
            Store.Dispose();
            Directory.Delete(_dir, recursive: true);
        }
    }
}
