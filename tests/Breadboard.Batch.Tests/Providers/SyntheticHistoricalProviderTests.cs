using Breadboard.Batch.Providers;
using Breadboard.Core.Model;
using CsCheck;

namespace Breadboard.Batch.Tests.Providers;

public class SyntheticHistoricalProviderTests
{
    // Friday 2024-03-08 00:00Z: the weekend after it holds the switch to daylight saving time (Sunday 10 March).
    private const long Friday = 1_709_856_000_000;
    private const long Day = 86_400_000;

    private static readonly string[] Symbols = ["BTC-USD", "ETH-USD", "AAPL", "MSFT"];

    private static Task<List<Bar>> FetchAsync(SyntheticHistoricalProvider provider, string symbol, long from, long to, BarInterval interval) =>
        provider.FetchAsync(symbol, from, to, interval, TestContext.Current.CancellationToken).ToListAsync();

    [Fact]
    public async Task Fetch_SameArguments_GiveSameBars()
    {
        var first = await FetchAsync(new SyntheticHistoricalProvider(42), "BTC-USD", Friday, Friday + Day, BarInterval.OneMinute);
        var second = await FetchAsync(new SyntheticHistoricalProvider(42), "BTC-USD", Friday, Friday + Day, BarInterval.OneMinute);

        Assert.Equal(1440, first.Count);
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task Fetch_OtherSeedOrSymbol_GivesOtherBars()
    {
        var bars = await FetchAsync(new SyntheticHistoricalProvider(42), "BTC-USD", Friday, Friday + 3_600_000, BarInterval.OneMinute);
        var otherSeed = await FetchAsync(new SyntheticHistoricalProvider(43), "BTC-USD", Friday, Friday + 3_600_000, BarInterval.OneMinute);
        var otherSymbol = await FetchAsync(new SyntheticHistoricalProvider(42), "ETH-USD", Friday, Friday + 3_600_000, BarInterval.OneMinute);

        Assert.NotEqual(bars.Select(b => b.Close), otherSeed.Select(b => b.Close));
        Assert.NotEqual(bars.Select(b => b.Close), otherSymbol.Select(b => b.Close));
    }

    [Fact]
    public async Task Fetch_RangeSplitAnywhere_EqualsTheWholeRange()
    {
        var cases = Gen.Select(Gen.Long[0, 1000], Gen.Int[0, Symbols.Length - 1], Gen.Int[0, BarInterval.All.Count - 1], Gen.Long[0, 20 * Day], Gen.Long[0, 10 * Day], Gen.Double[0, 1])
            .Select((seed, symbol, interval, offset, length, cut) => new SplitCase(seed, Symbols[symbol], BarInterval.All[interval], offset, length, cut));
        await cases.SampleAsync(
            async c =>
            {
                // Keep the bar counts small: at most a few thousand per case.
                var span = Math.Min(c.Length, c.Interval.Milliseconds * 3000);
                var from = Friday - (10 * Day) + c.Offset;
                var to = from + span;
                var middle = from + (long)(span * c.Cut);
                var provider = new SyntheticHistoricalProvider(c.Seed);
                var whole = await FetchAsync(provider, c.Symbol, from, to, c.Interval);
                var parts = (await FetchAsync(provider, c.Symbol, from, middle, c.Interval)).Concat(await FetchAsync(provider, c.Symbol, middle, to, c.Interval));
                return whole.SequenceEqual(parts);
            },
            iter: 500);
    }

    public sealed record SplitCase(long Seed, string Symbol, BarInterval Interval, long Offset, long Length, double Cut);

    [Theory]
    [InlineData("BTC-USD", "1m")]
    [InlineData("AAPL", "1m")]
    [InlineData("ETH-USD", "1h")]
    [InlineData("MSFT", "5m")]
    [InlineData("AAPL", "1d")]
    public async Task Fetch_Bars_ArePlausibleAndAscending(string symbol, string intervalText)
    {
        Assert.True(BarInterval.TryParse(intervalText, out var interval));
        var bars = await FetchAsync(new SyntheticHistoricalProvider(7), symbol, Friday - (30 * Day), Friday, interval);

        Assert.NotEmpty(bars);
        var previous = long.MinValue;
        foreach (var bar in bars)
        {
            Assert.Equal(symbol, bar.Symbol);
            Assert.Equal(interval.Text, bar.Window);
            Assert.Equal(bar.WindowStart + interval.Milliseconds, bar.WindowEnd);
            Assert.Equal(0, bar.WindowStart % interval.Milliseconds);
            Assert.True(bar.WindowStart > previous);
            Assert.True(bar.Low > 0, $"low {bar.Low}");
            Assert.True(bar.Low <= Math.Min(bar.Open, bar.Close) && Math.Max(bar.Open, bar.Close) <= bar.High, bar.ToString());
            Assert.True(bar.Volume >= 0 && bar.Trades >= 0, bar.ToString());
            Assert.True(bar.Vwap is null || (bar.Vwap >= bar.Low && bar.Vwap <= bar.High), bar.ToString());
            previous = bar.WindowStart;
        }

        // A walk, not noise: consecutive bars join up (the next open is this close).
        if (interval == BarInterval.OneMinute && AssetClasses.Infer(symbol) == AssetClass.Crypto)
        {
            Assert.All(bars.Zip(bars.Skip(1)), pair => Assert.Equal(pair.First.Close, pair.Second.Open));
        }
    }

    [Fact]
    public async Task Fetch_Stock_TradesOnlyInNyseRegularHours()
    {
        // Friday to Monday across the DST switch: 14:30Z open on Friday (EST), 13:30Z on Monday (EDT).
        var bars = await FetchAsync(new SyntheticHistoricalProvider(1), "AAPL", Friday, Friday + (4 * Day), BarInterval.OneMinute);

        Assert.Equal(2 * 390, bars.Count);
        Assert.All(bars, bar => Assert.True(MarketHours.IsNyseOpen(bar.WindowStart), EventTime.ToIso(bar.WindowStart)));
        Assert.Equal("2024-03-08T14:30:00.000Z", EventTime.ToIso(bars[0].WindowStart));
        Assert.Equal("2024-03-08T20:59:00.000Z", EventTime.ToIso(bars[389].WindowStart));
        Assert.Equal("2024-03-11T13:30:00.000Z", EventTime.ToIso(bars[390].WindowStart));
        Assert.Equal("2024-03-11T19:59:00.000Z", EventTime.ToIso(bars[^1].WindowStart));
    }

    [Fact]
    public async Task Fetch_StockHourAndDayBars_FollowTheSession()
    {
        var hours = await FetchAsync(new SyntheticHistoricalProvider(1), "AAPL", Friday, Friday + Day, new BarInterval("1h", 3_600_000));
        var days = await FetchAsync(new SyntheticHistoricalProvider(1), "AAPL", Friday, Friday + (7 * Day), new BarInterval("1d", Day));

        // 10:00 to 15:00 New York (EST, UTC-5).
        Assert.Equal(["15:00", "16:00", "17:00", "18:00", "19:00", "20:00"], hours.Select(b => EventTime.ToIso(b.WindowStart)[11..16]));
        // Friday, Monday to Thursday: no Saturday or Sunday.
        Assert.Equal(["03-08", "03-11", "03-12", "03-13", "03-14"], days.Select(b => EventTime.ToIso(b.WindowStart)[5..10]));
    }

    [Fact]
    public async Task Fetch_Crypto_TradesThroughTheWeekend()
    {
        var saturday = Friday + Day;
        var bars = await FetchAsync(new SyntheticHistoricalProvider(1), "BTC-USD", saturday, saturday + (2 * Day), new BarInterval("1h", 3_600_000));

        Assert.Equal(48, bars.Count);
    }

    [Fact]
    public async Task Fetch_UnalignedRange_StartsAtTheNextBar()
    {
        var bars = await FetchAsync(new SyntheticHistoricalProvider(1), "BTC-USD", Friday + 30_001, Friday + 180_000, BarInterval.OneMinute);

        Assert.Equal([Friday + 60_000, Friday + 120_000], bars.Select(b => b.WindowStart));
    }
}
