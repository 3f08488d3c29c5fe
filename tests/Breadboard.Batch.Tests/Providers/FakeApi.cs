using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Breadboard.Batch.Tests.Providers;

/// <summary>A Kestrel server on a free loopback port that answers every GET as <c>respond</c> says and keeps the calls.</summary>
internal sealed class FakeApi : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeApi(WebApplication app) => _app = app;

    /// <param name="Index">0 for the first call, 1 for the second, ...</param>
    /// <param name="At">Stopwatch timestamp at arrival.</param>
    public sealed record Call(int Index, string Path, IReadOnlyDictionary<string, string> Query, string RawQuery, long At);

    public sealed record Reply(int Status, string Body, string? RetryAfter = null);

    public ConcurrentQueue<Call> Calls { get; } = new();

    /// <summary>The server's base URL, without a trailing slash.</summary>
    public string Url { get; private set; } = "";

    public static async Task<FakeApi> StartAsync(Func<Call, FakeApi, Reply> respond, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var api = new FakeApi(app);
        var count = 0;
        app.MapGet("/{**path}", async (HttpContext context) =>
        {
            var query = context.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.Ordinal);
            var call = new Call(Interlocked.Increment(ref count) - 1, context.Request.Path.ToString(), query, context.Request.QueryString.ToString(), Stopwatch.GetTimestamp());
            api.Calls.Enqueue(call);
            var reply = respond(call, api);
            context.Response.StatusCode = reply.Status;
            context.Response.ContentType = "application/json";
            if (reply.RetryAfter is not null)
            {
                context.Response.Headers.RetryAfter = reply.RetryAfter;
            }

            await context.Response.WriteAsync(reply.Body, context.RequestAborted);
        });
        await app.StartAsync(cancellationToken);
        api.Url = app.Urls.First().TrimEnd('/');
        return api;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

internal static class AsyncEnumerables
{
    public static async Task<List<T>> ToListAsync<T>(this IAsyncEnumerable<T> source)
    {
        var list = new List<T>();
        await foreach (var item in source)
        {
            list.Add(item);
        }

        return list;
    }
}
