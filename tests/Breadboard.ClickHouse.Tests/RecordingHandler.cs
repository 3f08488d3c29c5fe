using System.Collections.Concurrent;

namespace Breadboard.ClickHouse.Tests;

/// <summary>Counts the requests a client sends and keeps their URLs and headers, to check retries and credentials.</summary>
public sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler())
{
    private int _attempts;

    public int Attempts => Volatile.Read(ref _attempts);

    public ConcurrentQueue<HttpRequestMessage> Requests { get; } = new();

    /// <summary>An <see cref="HttpClient"/> over this handler, with no timeout of its own.</summary>
    public HttpClient Client() => new(this, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _attempts);
        Requests.Enqueue(request);
        return base.SendAsync(request, cancellationToken);
    }
}
