using System.Net.WebSockets;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Breadboard.TestKit.WebSockets;

/// <summary>
/// A WebSocket server on a free loopback port standing in for an exchange: each connection is handed to the
/// test's script, which reads what the client sent (subscriptions), sends the venue's messages, and ends the
/// connection politely, abruptly, or not at all (silence).
/// </summary>
public sealed class FakeVenueServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Channel<VenueConnection> _connections = Channel.CreateUnbounded<VenueConnection>();
    private int _count;

    private FakeVenueServer(WebApplication app) => _app = app;

    /// <summary>ws://127.0.0.1:PORT/ws</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>Connections accepted so far.</summary>
    public int ConnectionCount => Volatile.Read(ref _count);

    public static async Task<FakeVenueServer> StartAsync(CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeVenueServer(app);
        app.UseWebSockets();
        app.Map("/{**path}", async (HttpContext context) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            Interlocked.Increment(ref server._count);
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var connection = new VenueConnection(socket, context.Request.Path + context.Request.QueryString, headers);
            await server._connections.Writer.WriteAsync(connection, context.RequestAborted);
            await connection.Finished;
        });
        await app.StartAsync(cancellationToken);
        server.Url = new Uri(app.Urls.First().Replace("http://", "ws://", StringComparison.Ordinal) + "/ws");
        return server;
    }

    /// <summary>The next connection the client makes, to script.</summary>
    public async Task<VenueConnection> AcceptAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        return await _connections.Reader.ReadAsync(limit.Token);
    }

    public async ValueTask DisposeAsync()
    {
        _connections.Writer.TryComplete();
        while (_connections.Reader.TryRead(out var pending))
        {
            pending.Abort();
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>One client connection of a <see cref="FakeVenueServer"/>.</summary>
public sealed class VenueConnection
{
    private readonly WebSocket _socket;
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<string> _received = Channel.CreateUnbounded<string>();

    internal VenueConnection(WebSocket socket, string pathAndQuery, IReadOnlyDictionary<string, string> headers)
    {
        _socket = socket;
        PathAndQuery = pathAndQuery;
        Headers = headers;
        _ = ReadAsync();
    }

    /// <summary>The path and query the client connected to.</summary>
    public string PathAndQuery { get; }

    /// <summary>The handshake's HTTP headers (copied: Kestrel reuses its collection).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    internal Task Finished => _finished.Task;

    /// <summary>The next text frame the client sent (its subscriptions, pings).</summary>
    public async Task<string> ReceiveAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        return await _received.Reader.ReadAsync(limit.Token);
    }

    public Task SendAsync(string text, CancellationToken cancellationToken = default) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    /// <summary>Sends one message split over several frames, as venues may.</summary>
    public async Task SendFragmentedAsync(string text, int pieces, CancellationToken cancellationToken = default)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var size = Math.Max(1, bytes.Length / pieces);
        for (var at = 0; at < bytes.Length; at += size)
        {
            var end = Math.Min(bytes.Length, at + size);
            await _socket.SendAsync(bytes.AsMemory(at, end - at), WebSocketMessageType.Text, end == bytes.Length, cancellationToken);
        }
    }

    /// <summary>A polite close, as a venue going down for maintenance does.</summary>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await _socket.CloseOutputAsync(WebSocketCloseStatus.EndpointUnavailable, "maintenance", cancellationToken);
        }
        finally
        {
            _finished.TrySetResult();
        }
    }

    /// <summary>Drops the TCP connection without a close handshake.</summary>
    public void Abort()
    {
        _socket.Abort();
        _finished.TrySetResult();
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                using var message = new MemoryStream();
                WebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                    message.Write(buffer, 0, result.Count);
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                await _received.Writer.WriteAsync(Encoding.UTF8.GetString(message.ToArray()));
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection ended; the script learns it from Finished or from a failed send.
        }
        finally
        {
            _received.Writer.TryComplete();
            _finished.TrySetResult();
        }
    }
}
