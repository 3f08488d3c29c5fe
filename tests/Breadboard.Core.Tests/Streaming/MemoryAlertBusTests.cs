using Breadboard.Core.Model;
using Breadboard.Core.Streaming;

namespace Breadboard.Core.Tests.Streaming;

public sealed class MemoryAlertBusTests
{
    private static Alert Drop(string symbol) =>
        new(Alert.MakeId("price_drop", symbol, "5m", 0), "price_drop", symbol, "5m", 0, 300_000, -5.5, -5, 300_000);

    [Fact]
    public async Task SubscribeAsync_AlertPublishedBeforeTheFirstRead_IsRead()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var bus = new MemoryAlertBus();
        var alerts = bus.SubscribeAsync(cancellationToken: ct);
        await bus.PublishAsync(Drop("BTC-USD"), ct);
        bus.Complete();

        var read = await alerts.ToListAsync(ct);
        Assert.Equal("BTC-USD", Assert.Single(read).Symbol);
    }

    [Fact]
    public async Task Complete_EndsEverySubscriptionAfterTheAlertsItHolds()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var bus = new MemoryAlertBus();
        using var first = bus.Subscribe();
        using var second = bus.Subscribe();
        await bus.PublishAsync(Drop("BTC-USD"), ct);
        await bus.PublishAsync(Drop("ETH-USD"), ct);
        bus.Complete();

        Assert.Equal(["BTC-USD", "ETH-USD"], (await first.ReadAllAsync(ct).ToListAsync(ct)).Select(a => a.Symbol));
        Assert.Equal(["BTC-USD", "ETH-USD"], (await second.ReadAllAsync(ct).ToListAsync(ct)).Select(a => a.Symbol));
    }

    [Fact]
    public async Task Subscription_Disposed_NoLongerReceives()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var bus = new MemoryAlertBus();
        var kept = bus.Subscribe();
        var dropped = bus.Subscribe();
        dropped.Dispose();
        await bus.PublishAsync(Drop("BTC-USD"), ct);
        bus.Complete();

        Assert.Single(await kept.ReadAllAsync(ct).ToListAsync(ct));
        Assert.Empty(await dropped.ReadAllAsync(ct).ToListAsync(ct));
    }
}
