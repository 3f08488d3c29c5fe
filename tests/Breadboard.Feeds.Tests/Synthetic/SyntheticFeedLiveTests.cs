using System.Diagnostics;
using Breadboard.Core.Model;
using Breadboard.Feeds.Synthetic;

namespace Breadboard.Feeds.Tests.Synthetic;

public class SyntheticFeedLiveTests
{
    private static async Task<List<Tick>> CollectAsync(SyntheticFeed feed, TimeSpan duration, Action<Tick>? onTick = null)
    {
        var ticks = new List<Tick>();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(duration);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var tick in feed.RunLiveAsync(cts.Token))
            {
                onTick?.Invoke(tick);
                ticks.Add(tick);
            }
        });
        return ticks;
    }

    [Fact]
    public async Task RunLiveAsync_AtAThousandPerSecond_YieldsAboutTheRateStampedWithTheWallClock()
    {
        var feed = new SyntheticFeed(SyntheticFeedOptions.Default with { RatePerSecond = 1_000 });
        var startMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var ticks = await CollectAsync(feed, TimeSpan.FromMilliseconds(500), tick =>
        {
            // Released once due, and not long after: batches are 10 ms apart.
            var nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            Assert.InRange(tick.Ts, nowMs - 250, nowMs + 5);
        });

        Assert.InRange(ticks.Count, 300, 650);
        Assert.InRange(ticks[0].Ts, startMs - 5, startMs + 100);
        Assert.All(ticks.Zip(ticks.Skip(1)), pair => Assert.True(pair.First.Ts <= pair.Second.Ts));
    }

    [Fact]
    public async Task RunLiveAsync_SameSeed_GivesTheSameTicksAsGenerateApartFromTheStart()
    {
        var options = SyntheticFeedOptions.Default with { RatePerSecond = 2_000 };
        var live = await CollectAsync(new SyntheticFeed(options), TimeSpan.FromMilliseconds(300));
        var offline = new SyntheticFeed(options with { StartTime = 0 }).Generate(live.Count).ToList();

        Assert.NotEmpty(live);
        var shift = live[0].Ts - offline[0].Ts;
        var idShift = live[0].TradeId.Number - offline[0].TradeId.Number;
        // Ids count from the start time in ms × 1000, so a restart never reuses them.
        Assert.Equal(0, idShift % 1000);
        Assert.InRange(idShift / 1000, live[0].Ts - 1_000, live[0].Ts);
        Assert.Equal(offline.Select(t => t with { Ts = t.Ts + shift, TradeId = TradeId.FromNumber(t.TradeId.Number + idShift) }), live);
    }

    [Fact]
    public async Task RunLiveAsync_Cancelled_StopsPromptly()
    {
        // One tick every 100 s on average: the feed spends its time asleep, where cancellation must reach it.
        var feed = new SyntheticFeed(SyntheticFeedOptions.Default with { RatePerSecond = 0.01 });
        var stopwatch = Stopwatch.StartNew();

        await CollectAsync(feed, TimeSpan.FromMilliseconds(100));

        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(1), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task RunLiveAsync_AlreadyCancelled_ThrowsBeforeTheFirstTick()
    {
        var feed = new SyntheticFeed(SyntheticFeedOptions.Default);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var tick in feed.RunLiveAsync(cts.Token))
            {
                Assert.Fail($"got {tick}");
            }
        });
    }
}
