using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Breadboard.Notify.Tests.Channels;

/// <summary>A Kestrel server on a free loopback port that keeps each POST and answers as <c>respond</c> says.</summary>
internal sealed class HttpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HttpReceiver(WebApplication app) => _app = app;

    /// <param name="Headers">Copied: Kestrel reuses its header collection once the request is over.</param>
    public sealed record Request(string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body);

    public ConcurrentQueue<Request> Requests { get; } = new();

    /// <summary>The receiver's base URL, ending in a slash.</summary>
    public Uri Url { get; private set; } = null!;

    /// <param name="respond">Status and body for a request; 200 "ok" (Slack's answer) when null.</param>
    public static async Task<HttpReceiver> StartAsync(Func<Request, Task<(int Status, string Body)>>? respond = null, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new HttpReceiver(app);
        app.MapPost("/{**path}", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var request = new Request(context.Request.Path.ToString(), headers, body.ToArray());
            receiver.Requests.Enqueue(request);
            var (status, text) = respond is null ? (200, "ok") : await respond(request);
            return Results.Text(text, statusCode: status);
        });
        await app.StartAsync(cancellationToken);
        receiver.Url = new Uri(app.Urls.First() + "/");
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
