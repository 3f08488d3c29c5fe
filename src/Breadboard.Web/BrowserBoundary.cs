using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Breadboard.Web;

/// <summary>
/// What a browser may do with this server: the Host names it answers to (against DNS rebinding), the origins whose
/// pages may open the live stream or send mutating requests (against cross-site WebSocket hijacking and forged
/// requests), and the security headers every answer carries.
/// </summary>
/// <remarks>
/// Hosts are matched without their port, as ASP.NET Core's host filtering does (<see cref="HostString.MatchesAny"/>):
/// a DNS-rebinding page reaches the server under its own name, whatever the port. A request without an
/// <c>Origin</c> header (curl, wscat, .NET's ClientWebSocket) is not a browser page acting for another site, and is
/// let through.
/// </remarks>
internal sealed class BrowserBoundary
{
    /// <summary>Set in the request's items once its Host passed, so the policy may name it.</summary>
    private const string HostAccepted = "breadboard.host-accepted";

    /// <summary>The names every loopback listener answers to.</summary>
    private static readonly string[] Loopback = ["localhost", "127.0.0.1", "[::1]"];

    private readonly WebOptions _options;
    private readonly ILogger _logger;
    private readonly StringSegment[] _hosts;
    private readonly string _hostList;

    public BrowserBoundary(WebOptions options, ILogger<BrowserBoundary> logger)
    {
        _options = options;
        _logger = logger;
        var hosts = AllowedHosts(options);
        _hosts = [.. hosts.Select(h => new StringSegment(h))];
        _hostList = string.Join(", ", hosts);
    }

    /// <summary>
    /// The Host names the server answers to: each address of <see cref="WebOptions.Urls"/> (a loopback one brings
    /// all loopback names; a wildcard one, which listens everywhere, only those too), plus <see cref="WebOptions.AllowedHosts"/>.
    /// </summary>
    public static IReadOnlyList<string> AllowedHosts(WebOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var hosts = new List<string>();
        foreach (var url in options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // ASP.NET's wildcard hosts (http://*:8000, http://+:8000) listen everywhere, as 0.0.0.0 does.
            var checkable = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
            if (!Uri.TryCreate(checkable, UriKind.Absolute, out var uri))
            {
                continue;
            }

            var isAddress = IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address);
            if (uri.IsLoopback || (isAddress && (address!.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))))
            {
                hosts.AddRange(Loopback);
            }
            else
            {
                hosts.Add(uri.Host);
            }
        }

        foreach (var host in options.AllowedHosts ?? [])
        {
            if (!string.IsNullOrWhiteSpace(host))
            {
                hosts.Add(host.Trim());
            }
        }

        return [.. hosts.Distinct(StringComparer.OrdinalIgnoreCase)];
    }

    /// <summary>Adds the security headers and the request id to the answer, whatever writes it.</summary>
    public static Task HeadersAsync(HttpContext context, RequestDelegate next)
    {
        context.Response.OnStarting(static state =>
        {
            var context = (HttpContext)state;
            var headers = context.Response.Headers;
            headers[WebServer.RequestIdHeader] = context.TraceIdentifier;
            headers.ContentSecurityPolicy = ContentSecurityPolicy(context.Items.ContainsKey(HostAccepted) ? context.Request.Host.Value : null);
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            return Task.CompletedTask;
        }, context);
        return next(context);
    }

    /// <summary>
    /// The hash of the one inline style allowed: the &lt;style&gt; the charting library (lightweight-charts 5.2.1)
    /// adds for the TradingView attribution logo its license asks for. Another version of the library has another
    /// hash; a test compares this one with the vendored file.
    /// </summary>
    internal const string ChartLogoStyleHash = "'sha256-3pRED1tOXas1FXFoPb9TGCjmYe9XQsmO9OV23khV2nY='";

    /// <summary>
    /// The dashboard's policy: its own scripts, styles and images only, nothing inline (but the chart logo's style),
    /// no framing; fetches to its own origin and the stream's ws/wss URL on the same host (older browsers do not
    /// count ws: as 'self').
    /// </summary>
    internal static string ContentSecurityPolicy(string? host) =>
        $"default-src 'self'; script-src 'self'; style-src 'self' {ChartLogoStyleHash}; img-src 'self'; font-src 'self'; "
        + $"connect-src 'self'{(host is null ? "" : $" ws://{host} wss://{host}")}; "
        + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>Refuses a request whose Host is not one the server answers to, with 400.</summary>
    public async Task CheckHostAsync(HttpContext context, RequestDelegate next)
    {
        var host = context.Request.Host;
        if (host.HasValue && HostString.MatchesAny(host.Value, _hosts))
        {
            context.Items[HostAccepted] = true;
            await next(context);
            return;
        }

        _logger.HostRefused(context.TraceIdentifier, host.Value ?? "", _hostList);
        await TypedResults.Problem(
            detail: $"the Host header '{host.Value}' is not a name this server answers to",
            statusCode: StatusCodes.Status400BadRequest,
            title: "Unknown host").ExecuteAsync(context);
    }

    /// <summary>
    /// Refuses, with 403, a WebSocket upgrade or a mutating request (POST, PUT, PATCH, DELETE) sent by a page of
    /// another origin; runs after the WebSocket middleware, which tells upgrades apart.
    /// </summary>
    public async Task CheckOriginAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        var guarded = context.WebSockets.IsWebSocketRequest
            || !(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method) || HttpMethods.IsTrace(request.Method));
        var origin = request.Headers.Origin;
        if (!guarded || StringValues.IsNullOrEmpty(origin) || IsAllowedOrigin(origin.ToString(), request.Host))
        {
            await next(context);
            return;
        }

        _logger.OriginRefused(context.TraceIdentifier, request.Method, request.Path, origin.ToString());
        await TypedResults.Problem(
            detail: $"pages of '{origin}' may not use this endpoint; only this server's own pages and the origins it is configured to allow",
            statusCode: StatusCodes.Status403Forbidden,
            title: "Foreign origin").ExecuteAsync(context);
    }

    /// <summary>Same origin (the Origin's host and port are the request's Host, which passed the host check), or a configured origin.</summary>
    private bool IsAllowedOrigin(string origin, HostString host)
    {
        if (Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.AbsolutePath == "/")
        {
            var authority = uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}";
            if (string.Equals(authority, host.Value, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        var trimmed = origin.TrimEnd('/');
        foreach (var allowed in _options.AllowedOrigins)
        {
            if (string.Equals(allowed.Trim().TrimEnd('/'), trimmed, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
