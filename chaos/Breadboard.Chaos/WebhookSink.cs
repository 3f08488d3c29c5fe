using System.Collections.Concurrent;
using System.Text.Json;
using Breadboard.Notify.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Breadboard.Chaos;

/// <summary>
/// The webhook receiver of the run: verifies each delivery's signature, records what it accepted, and on the run's
/// say answers 500 or hangs for a while.
/// </summary>
internal sealed class WebhookSink : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _secret;
    private volatile Mode _mode = Mode.Accept;

    private WebhookSink(WebApplication app, string secret)
    {
        _app = app;
        _secret = secret;
    }

    public enum Mode
    {
        Accept,
        Fail,
        Hang,
    }

    /// <summary>A delivery answered 200: its id and the alert ids in it.</summary>
    public sealed record Delivery(string Id, IReadOnlyList<string> AlertIds, DateTimeOffset At);

    public ConcurrentQueue<Delivery> Accepted { get; } = new();

    /// <summary>Requests answered 500 or held until the sender gave up.</summary>
    public int Refused => _refused;

    /// <summary>Requests whose signature did not verify (never accepted).</summary>
    public int BadSignatures => _badSignatures;

    public Uri Url { get; private set; } = null!;

    private int _refused, _badSignatures;

    public static async Task<WebhookSink> StartAsync(string secret)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var sink = new WebhookSink(app, secret);
        app.MapPost("/hook", (Delegate)sink.ReceiveAsync);
        await app.StartAsync();
        sink.Url = new Uri(app.Urls.First() + "/hook");
        return sink;
    }

    public void Set(Mode mode) => _mode = mode;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task<IResult> ReceiveAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var body = buffer.ToArray();
        switch (_mode)
        {
            case Mode.Fail:
                Interlocked.Increment(ref _refused);
                return Results.StatusCode(500);
            case Mode.Hang:
                Interlocked.Increment(ref _refused);
                while (_mode == Mode.Hang && !context.RequestAborted.IsCancellationRequested)
                {
                    await Task.Delay(200, CancellationToken.None);
                }

                return Results.StatusCode(503);
        }

        var signature = context.Request.Headers[WebhookSignature.Header].ToString();
        if (WebhookSignature.Verify(_secret, signature, body, DateTimeOffset.UtcNow) != SignatureCheck.Valid)
        {
            Interlocked.Increment(ref _badSignatures);
            return Results.StatusCode(401);
        }

        using var json = JsonDocument.Parse(body);
        var ids = json.RootElement.GetProperty("alerts").EnumerateArray().Select(a => a.GetProperty("id").GetString()!).ToList();
        Accepted.Enqueue(new Delivery(context.Request.Headers[WebhookSignature.DeliveryIdHeader].ToString(), ids, DateTimeOffset.UtcNow));
        return Results.Ok();
    }
}
