using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Breadboard.Core.Model;

namespace Breadboard.Web.Tests;

[Collection(nameof(WebServerGroup))]
public class StreamTests(WebFixture web)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<ClientWebSocket> ConnectAsync()
    {
        var socket = new ClientWebSocket();
        var uri = new UriBuilder(web.BaseAddress) { Scheme = "ws", Path = "/api/stream" }.Uri;
        await socket.ConnectAsync(uri, Ct);
        return socket;
    }

    internal static async Task<JsonElement> ReceiveAsync(ClientWebSocket socket, string type)
    {
        var buffer = new byte[1 << 16];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        while (true)
        {
            var message = new MemoryStream();
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, timeout.Token);
                message.Write(buffer, 0, result.Count);
            }
            while (!result.EndOfMessage);

            var root = JsonDocument.Parse(message.ToArray()).RootElement.Clone();
            if (root.GetProperty("type").GetString() == type)
            {
                return root;
            }
        }
    }

    private static Task SendAsync(ClientWebSocket socket, string json) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, Ct);

    private static Tick Tick(string symbol, long ts, double price, double volume) =>
        new(symbol, ts, price, volume, TradeId.None, null, AssetClass.Crypto);

    [Fact]
    public async Task Stream_OnConnect_SaysHelloWithWindowsAndRules()
    {
        using var socket = await ConnectAsync();

        var hello = await ReceiveAsync(socket, "hello");

        Assert.Equal(["1m:tumbling", "5m:hopping", "session:session"], hello.GetProperty("windows").EnumerateArray().Select(w => $"{w.GetProperty("name").GetString()}:{w.GetProperty("type").GetString()}"));
        Assert.Contains("volume_surge:volume_surge:1m", hello.GetProperty("rules").EnumerateArray().Select(r => $"{r.GetProperty("name").GetString()}:{r.GetProperty("type").GetString()}:{r.GetProperty("window").GetString()}"));
        Assert.Equal(["percent", "percent", "factor"], hello.GetProperty("rules").EnumerateArray().Select(r => r.GetProperty("unit").GetString()));
        Assert.Equal(
            ["price_change <= \u22125.0%", "price_change >= +5.0%", "volume >= 5.0\u00d7 the mean of the previous 20 bars"],
            hello.GetProperty("rules").EnumerateArray().Select(r => r.GetProperty("description").GetString()));
        Assert.Equal(0, hello.GetProperty("indicators").GetArrayLength());
    }

    [Fact]
    public async Task Stream_ManyTicksOfOneSymbol_ArriveCoalescedIntoOneItem()
    {
        using var socket = await ConnectAsync();
        await ReceiveAsync(socket, "hello");

        for (var i = 0; i < 1_000; i++)
        {
            web.Hub.OnTick(Tick("COAL-USD", 1_767_312_000_000 + i, 100 + i, 0.5));
        }

        var ticks = await ReceiveAsync(socket, "ticks");
        var item = Assert.Single(ticks.GetProperty("items").EnumerateArray(), i => i.GetProperty("symbol").GetString() == "COAL-USD");
        Assert.Equal(1_099, item.GetProperty("price").GetDouble());
        Assert.Equal(500, item.GetProperty("volume").GetDouble());
    }

    [Fact]
    public async Task Stream_Subscribed_GetsThatChartsBarsAndEveryAlert()
    {
        using var socket = await ConnectAsync();
        await ReceiveAsync(socket, "hello");
        await SendAsync(socket, """{"type":"subscribe","symbol":"SUB-USD","window":"1m"}""");
        await WaitUntil(() => web.Hub.Subscriptions.Contains(("SUB-USD", "1m")));

        web.Hub.OnBar(new Bar("OTHER", "1m", 0, 60_000, 1, 1, 1, 1, 1, 1, 1), final: true);
        web.Hub.OnBar(new Bar("SUB-USD", "1m", 60_000, 120_000, 1, 2, 0.5, 1.5, 3, 1.2, 4), final: false);
        var bar = await ReceiveAsync(socket, "bar");
        Assert.False(bar.GetProperty("final").GetBoolean());
        Assert.Equal("SUB-USD", bar.GetProperty("bar").GetProperty("symbol").GetString());
        Assert.Equal("1970-01-01T00:01:00.000Z", bar.GetProperty("bar").GetProperty("window_start").GetString());

        web.Hub.OnAlert(new Alert("price_drop:X:5m:0", "price_drop", "X", "5m", 0, 300_000, -6.2, -5, 300_000, "0123456789abcdef"));
        var alert = await ReceiveAsync(socket, "alert");
        Assert.Equal("price_drop:X:5m:0", alert.GetProperty("alert").GetProperty("id").GetString());
        Assert.Equal("0123456789abcdef", alert.GetProperty("alert").GetProperty("pipeline").GetString());

        web.Hub.OnAlert(new Alert("price_drop:Y:5m:0", "price_drop", "Y", "5m", 0, 300_000, -6.2, -5, 300_000));
        alert = await ReceiveAsync(socket, "alert");
        Assert.Equal(JsonValueKind.Null, alert.GetProperty("alert").GetProperty("pipeline").ValueKind);

        // An embedded engine hands an alert over as it fires, and the alert bus brings it again: sent once.
        web.Hub.OnAlert(new Alert("price_drop:X:5m:0", "price_drop", "X", "5m", 0, 300_000, -6.2, -5, 300_000, "0123456789abcdef"));
        web.Hub.OnAlert(new Alert("price_drop:Z:5m:0", "price_drop", "Z", "5m", 0, 300_000, -6.2, -5, 300_000));
        alert = await ReceiveAsync(socket, "alert");
        Assert.Equal("price_drop:Z:5m:0", alert.GetProperty("alert").GetProperty("id").GetString());
    }

    [Fact]
    public async Task Stream_ClientThatDoesNotRead_IsDroppedWithoutSlowingThePublisher()
    {
        using var socket = await ConnectAsync();
        await WaitUntil(() => web.Hub.ClientCount >= 1);
        var dropped = web.Hub.DroppedClients;

        // Far more than the client's queue plus what the socket buffers: publishing must never wait on it.
        var payload = new byte[64 * 1024];
        "{\"type\":\"noise\"}"u8.CopyTo(payload);
        for (var i = 0; i < 5_000; i++)
        {
            web.Hub.Broadcast(payload);
        }

        await WaitUntil(() => web.Hub.DroppedClients > dropped);
        await WaitUntil(() => web.Hub.ClientCount == 0); // an earlier test's client may still be closing
    }

    [Fact]
    public async Task Stream_MalformedSubscribes_AreIgnored_AndALaterOneStillWorks()
    {
        using var socket = await ConnectAsync();
        await ReceiveAsync(socket, "hello");

        await SendAsync(socket, """{"type":"subscribe","symbol":5,"window":"1m"}""");
        await SendAsync(socket, """{"type":["subscribe"],"symbol":"X","window":"1m"}""");
        await SendAsync(socket, "{" + new string(' ', 10_000) + "}");
        await SendAsync(socket, """{"type":"subscribe","symbol":"LATER-USD","window":"5m"}""");

        await WaitUntil(() => web.Hub.Subscriptions.Contains(("LATER-USD", "5m")));
    }

    [Fact]
    public async Task Stream_PlainHttpRequest_Gets426()
    {
        using var response = await web.Http.GetAsync(new Uri("/api/stream", UriKind.Relative), Ct);
        Assert.Equal(426, (int)response.StatusCode);
    }

    internal static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(20, Ct);
        }

        Assert.True(condition());
    }
}
