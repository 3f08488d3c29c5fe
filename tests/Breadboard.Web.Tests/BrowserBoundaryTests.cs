using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Breadboard.Core.Pipeline;
using Breadboard.Notify.Policy;

namespace Breadboard.Web.Tests;

/// <summary>
/// What a browser may do: only the hosts this server is meant to be reached by (DNS rebinding), only pages of its own
/// origin (or configured ones) on the stream and mutating endpoints, a bounded number of stream clients, and
/// security headers on every answer.
/// </summary>
public class BrowserBoundaryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<HttpResponseMessage> GetWithHostAsync(RunningServer server, string path, string host)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Host = host;
        return await server.Http.SendAsync(request, Ct);
    }

    [Theory]
    [InlineData("evil.example")]
    [InlineData("evil.example:{port}")]
    [InlineData("127.0.0.2:{port}")]
    [InlineData("localhost.evil.example:{port}")]
    public async Task Request_WithAForeignHost_Gets400(string host)
    {
        await using var server = await RunningServer.StartAsync(new ScriptedStore());

        using var response = await GetWithHostAsync(server, "/api/symbols", host.Replace("{port}", server.BaseAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("host", await response.Content.ReadAsStringAsync(Ct), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("127.0.0.1:{port}")]
    [InlineData("localhost:{port}")]
    [InlineData("LOCALHOST:{port}")]
    [InlineData("[::1]:{port}")]
    public async Task Request_WithALoopbackHost_IsServed(string host)
    {
        await using var server = await RunningServer.StartAsync(new ScriptedStore());

        using var response = await GetWithHostAsync(server, "/api/symbols", host.Replace("{port}", server.BaseAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Request_WithAConfiguredHost_IsServed()
    {
        await using var server = await RunningServer.StartAsync(new ScriptedStore(), RunningServer.Options() with { AllowedHosts = ["backend", "*.example.com"] });

        using var service = await GetWithHostAsync(server, "/health/live", "backend:8000");
        using var wildcard = await GetWithHostAsync(server, "/health/live", "dash.example.com");
        using var other = await GetWithHostAsync(server, "/health/live", "example.org");

        Assert.Equal(HttpStatusCode.OK, service.StatusCode);
        Assert.Equal(HttpStatusCode.OK, wildcard.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, other.StatusCode);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8000", null, new[] { "127.0.0.1", "localhost", "[::1]" })]
    [InlineData("http://localhost:8000", null, new[] { "127.0.0.1", "localhost", "[::1]" })]
    [InlineData("http://0.0.0.0:8000", null, new[] { "127.0.0.1", "localhost", "[::1]" })]
    [InlineData("http://*:8000;http://+:8001", null, new[] { "127.0.0.1", "localhost", "[::1]" })]
    [InlineData("http://0.0.0.0:8000", "backend,embedded", new[] { "127.0.0.1", "localhost", "[::1]", "backend", "embedded" })]
    [InlineData("http://10.1.2.3:8000;https://dash.example.com:443", null, new[] { "10.1.2.3", "dash.example.com" })]
    public void AllowedHosts_ComeFromTheUrls_PlusTheConfiguredOnes(string urls, string? configured, string[] expected)
    {
        var options = new WebOptions { Urls = urls, Pipeline = PipelineDefinition.Default, StoreUrl = "x://", AllowedHosts = configured?.Split(',') };

        Assert.Equal(expected.Order(StringComparer.Ordinal), BrowserBoundary.AllowedHosts(options).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Stream_FromAForeignOrigin_IsRefused()
    {
        await using var server = await RunningServer.StartAsync(new ScriptedStore());
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Origin", "http://evil.example");

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(server.StreamUri, Ct));

        Assert.Equal(HttpStatusCode.Forbidden, socket.HttpStatusCode);
        Assert.Equal(0, server.Hub.ClientCount);
    }

    [Theory]
    [InlineData("http://127.0.0.1:{port}")]
    [InlineData("https://dash.example.com")]
    public async Task Stream_FromItsOwnOrAConfiguredOrigin_IsAccepted(string origin)
    {
        await using var server = await RunningServer.StartAsync(new ScriptedStore(), RunningServer.Options() with { AllowedOrigins = ["https://dash.example.com"] });
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Origin", origin.Replace("{port}", server.BaseAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

        await socket.ConnectAsync(server.StreamUri, Ct);

        Assert.Equal("hello", (await StreamTests.ReceiveAsync(socket, "hello")).GetProperty("type").GetString());
    }

    [Fact]
    public async Task Stream_FromAnOriginOnAnotherPortOfTheSameHost_IsRefused()
    {
        await using var server = await RunningServer.StartAsync(new ScriptedStore());
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Origin", "http://127.0.0.1:1");

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(server.StreamUri, Ct));

        Assert.Equal(HttpStatusCode.Forbidden, socket.HttpStatusCode);
    }

    [Fact]
    public async Task Post_FromAForeignOrigin_IsRefused_AndNothingStored()
    {
        using var dir = new TempDirectory();
        using var silences = new FileSilenceStore(Path.Combine(dir.Path, "silences.json"), TimeProvider.System);
        await using var server = await RunningServer.StartAsync(new ScriptedStore(), RunningServer.Options() with { ApiKey = "k", Silences = silences });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/silences") { Content = JsonContent.Create(new { rule = "price_drop", duration = "1h" }) };
        request.Headers.Add("X-Api-Key", "k");
        request.Headers.Add("Origin", "https://evil.example");

        using var response = await server.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(await silences.ListAsync(includeExpired: true, Ct));
    }

    [Fact]
    public async Task Stream_OverTheClientCap_Gets503BeforeTheUpgrade()
    {
        await using var server = await RunningServer.StartAsync(new ScriptedStore(), RunningServer.Options() with { MaxStreamClients = 1 });
        using var first = new ClientWebSocket();
        await first.ConnectAsync(server.StreamUri, Ct);
        await StreamTests.ReceiveAsync(first, "hello");
        using var second = new ClientWebSocket();
        second.Options.CollectHttpResponseDetails = true;

        await Assert.ThrowsAsync<WebSocketException>(() => second.ConnectAsync(server.StreamUri, Ct));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.HttpStatusCode);
        Assert.Equal(1, server.Hub.ClientCount);
        await first.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", Ct);
        await StreamTests.WaitUntil(() => server.Hub.ClientCount == 0);
        using var third = new ClientWebSocket();
        await third.ConnectAsync(server.StreamUri, Ct); // a place came free
        await StreamTests.ReceiveAsync(third, "hello");
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/js/main.js")]
    [InlineData("/api/symbols")]
    [InlineData("/api/bars")]
    [InlineData("/no/such/page")]
    [InlineData("/health/live")]
    public async Task Responses_CarryTheSecurityHeaders(string path)
    {
        await using var server = await RunningServer.StartAsync(new ScriptedStore());

        using var response = await server.Http.GetAsync(new Uri(path, UriKind.Relative), Ct);

        AssertSecurityHeaders(response);
    }

    [Fact]
    public async Task RefusedHost_StillCarriesTheSecurityHeaders()
    {
        await using var server = await RunningServer.StartAsync(new ScriptedStore());

        using var response = await GetWithHostAsync(server, "/", "evil.example");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        AssertSecurityHeaders(response);
    }

    [Fact]
    public void ContentSecurityPolicy_AllowsTheChartLibrarysLogoStyle_ByItsHash()
    {
        // The library adds one <style> for its attribution logo; the policy allows exactly that text.
        var library = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "wwwroot", "vendor", "lightweight-charts.standalone.production.js"));
        var style = Assert.Single(System.Text.RegularExpressions.Regex.Matches(library, @"createElement\(""style""\),this\.\w+\.innerText=""(?<css>[^""]*)""")).Groups["css"].Value;

        var hash = $"'sha256-{Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(style)))}'";

        Assert.Equal(BrowserBoundary.ChartLogoStyleHash, hash);
        Assert.Contains($"style-src 'self' {hash};", BrowserBoundary.ContentSecurityPolicy("localhost:8000"), StringComparison.Ordinal);
    }

    [Fact]
    public void Dashboard_HasNoInlineScriptOrEventHandlers()
    {
        var root = Path.Combine(AppContext.BaseDirectory, "wwwroot");
        Assert.NotEmpty(Directory.EnumerateFiles(root, "*.html", SearchOption.AllDirectories));
        foreach (var file in Directory.EnumerateFiles(root, "*.html", SearchOption.AllDirectories))
        {
            var html = File.ReadAllText(file);
            Assert.DoesNotMatch(@"<script(?![^>]*\bsrc=)[^>]*>", html);
            Assert.DoesNotMatch(@"\son[a-z]+\s*=", html);
            Assert.DoesNotMatch(@"\sstyle\s*=", html);
        }
    }

    private static void AssertSecurityHeaders(HttpResponseMessage response)
    {
        var csp = Header(response, "Content-Security-Policy");
        Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", Header(response, "X-Content-Type-Options"));
        Assert.Equal("no-referrer", Header(response, "Referrer-Policy"));
        Assert.Equal("DENY", Header(response, "X-Frame-Options"));
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(", ", values)
            : throw new Xunit.Sdk.XunitException($"no {name} header on {response.RequestMessage?.RequestUri}");

    private sealed class TempDirectory : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("breadboard-boundary-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
