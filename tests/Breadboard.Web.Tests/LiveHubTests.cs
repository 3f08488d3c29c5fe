using Breadboard.Core.Model;
using Breadboard.Web.Live;

namespace Breadboard.Web.Tests;

/// <summary>The live hub and its clock never let one failure escape into the pipeline thread or stop the host.</summary>
public class LiveHubTests
{
    private const long T0 = 1_767_312_000_000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Enqueue_OnAClientThatDisconnectedMeanwhile_DoesNotThrow()
    {
        // A broadcast works on the client list it read before the client left; its Enqueue then meets a closed client.
        var hub = new LiveHub();
        var client = hub.Connect();
        client.Dispose();

        client.Enqueue("{}"u8.ToArray());

        Assert.Equal(0, hub.ClientCount);
        Assert.False(client.Overflowed);
    }

    [Fact]
    public async Task LiveService_WhenTheStatusThrows_KeepsFlushingTicks()
    {
        var calls = 0;
        var options = RunningServer.Options() with
        {
            BusUrl = "kafka://k:9092",
            BusLag = () =>
            {
                Interlocked.Increment(ref calls);
                throw new InvalidOperationException("lag reader broke");
            },
        };
        await using var server = await RunningServer.StartAsync(new ScriptedStore(), options);
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        await socket.ConnectAsync(server.StreamUri, Ct);
        await StreamTests.ReceiveAsync(socket, "hello");
        await StreamTests.WaitUntil(() => Volatile.Read(ref calls) > 0); // the stream's clock has met the failure

        server.Hub.OnTick(new Tick("LIVE-USD", T0, 10, 1, TradeId.None, null, AssetClass.Crypto));

        var ticks = await StreamTests.ReceiveAsync(socket, "ticks");
        Assert.Equal("LIVE-USD", ticks.GetProperty("items")[0].GetProperty("symbol").GetString());
        // The round that met the failure logs it after its call returned: wait for the record rather than race it.
        await StreamTests.WaitUntil(() => server.Logs.Entries.Any(e => e.Exception is InvalidOperationException { Message: "lag reader broke" }));
    }
}
