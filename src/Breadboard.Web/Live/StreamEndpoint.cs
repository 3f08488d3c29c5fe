using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Breadboard.Web.Live;

/// <summary><c>GET /api/stream</c>: the WebSocket that carries the hub's messages to one browser.</summary>
/// <remarks>
/// The Origin was checked before this runs (<see cref="BrowserBoundary"/>). Past <see cref="WebOptions.MaxStreamClients"/>
/// connections a new one is refused with 503 and Retry-After before the upgrade, so the browser's reconnect backs
/// off as after any failed connect, and nothing is spent on a socket that would only be closed.
/// </remarks>
internal static class StreamEndpoint
{
    /// <summary>Largest client message read; a subscribe is far smaller.</summary>
    private const int MaxMessageBytes = 4096;

    /// <summary>Seconds a refused client is asked to wait.</summary>
    private const int RetryAfterSeconds = 10;

    public static async Task HandleAsync(HttpContext context, LiveHub hub, WebOptions options, ILogger logger)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            await context.Response.WriteAsync("this endpoint speaks WebSocket", context.RequestAborted);
            return;
        }

        using var client = hub.TryConnect(options.MaxStreamClients);
        if (client is null)
        {
            logger.StreamFull(context.TraceIdentifier, options.MaxStreamClients);
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await TypedResults.Problem(
                detail: $"the live stream has its {options.MaxStreamClients} clients already; try again later",
                statusCode: StatusCodes.Status503ServiceUnavailable).ExecuteAsync(context);
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        client.Enqueue(Messages.Hello(hub.Indicators ?? new ChartIndicators(options.Pipeline)));

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

        if (socket.State == WebSocketState.CloseReceived)
        {
            // The browser closed: answer its close frame, so its close completes cleanly.
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or WebSocketException)
            {
                // Gone before the answer: nothing left to close.
            }
        }
    }

    /// <summary>Reads the client's subscribe messages until it closes; a message longer than a subscribe is skipped.</summary>
    private static async Task ReceiveAsync(WebSocket socket, LiveClient client, WebOptions options, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxMessageBytes];
        var length = 0;
        var tooLong = false;
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    client.Dispose();
                    return;
                }

                length += result.Count;
                if (!result.EndOfMessage)
                {
                    if (length == buffer.Length)
                    {
                        (length, tooLong) = (0, true);
                    }

                    continue;
                }

                if (!tooLong && result.MessageType == WebSocketMessageType.Text)
                {
                    TrySubscribe(buffer.AsSpan(0, length), client, options);
                }

                (length, tooLong) = (0, false);
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
                && root.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.ValueEquals("subscribe")
                && root.TryGetProperty("symbol", out var symbol) && symbol.ValueKind == JsonValueKind.String && symbol.GetString() is { Length: > 0 and <= 200 } s
                && root.TryGetProperty("window", out var window) && window.ValueKind == JsonValueKind.String && window.GetString() is { } w
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
