using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Breadboard.Web.Live;

/// <summary><c>GET /api/stream</c>: the WebSocket that carries the hub's messages to one browser.</summary>
internal static class StreamEndpoint
{
    public static async Task HandleAsync(HttpContext context, LiveHub hub, WebOptions options)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            await context.Response.WriteAsync("this endpoint speaks WebSocket", context.RequestAborted);
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        using var client = hub.Connect();
        client.Enqueue(Messages.Hello(options.Pipeline));

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, client.OverflowToken);
        var receiving = ReceiveAsync(socket, client, options, stop.Token);
        try
        {
            await foreach (var message in client.Messages.ReadAllAsync(stop.Token))
            {
                await socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, stop.Token);
            }

        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // The browser went away, or stopped reading and overflowed its queue (then the socket is aborted).
        }
        finally
        {
            await stop.CancelAsync();
            await receiving;
        }
    }

    /// <summary>Reads the client's subscribe messages until it closes.</summary>
    private static async Task ReceiveAsync(WebSocket socket, LiveClient client, WebOptions options, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var result = await socket.ReceiveAsync(buffer, cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    client.Dispose();
                    return;
                }

                if (result.EndOfMessage && result.MessageType == WebSocketMessageType.Text)
                {
                    TrySubscribe(buffer.AsSpan(0, result.Count), client, options);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            // Closed from either side.
        }
    }

    private static void TrySubscribe(ReadOnlySpan<byte> message, LiveClient client, WebOptions options)
    {
        try
        {
            var reader = new Utf8JsonReader(message);
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("type", out var type) && type.ValueEquals("subscribe")
                && root.TryGetProperty("symbol", out var symbol) && symbol.GetString() is { Length: > 0 } s
                && root.TryGetProperty("window", out var window) && window.GetString() is { } w
                && options.Pipeline.Windows.Any(d => d.Name == w))
            {
                client.Subscribe(s, w);
            }
        }
        catch (JsonException)
        {
            // Not ours to answer: a malformed message changes nothing.
        }
    }
}
