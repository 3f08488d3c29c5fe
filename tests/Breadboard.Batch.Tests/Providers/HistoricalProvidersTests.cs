using Breadboard.Batch.Providers;

namespace Breadboard.Batch.Tests.Providers;

public class HistoricalProvidersTests
{
    [Theory]
    [InlineData("synthetic")]
    [InlineData("file")]
    [InlineData("binance")]
    [InlineData("Polygon")]
    public void Create_KnownName_GivesThatProvider(string name)
    {
        var provider = HistoricalProviders.Create(name, new HistoricalProviderOptions { Path = "bars.csv", PolygonApiKey = "" });

        Assert.Equal(name.ToUpperInvariant(), provider.Name.ToUpperInvariant());
    }

    [Fact]
    public void Create_UnknownName_ThrowsListingTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => HistoricalProviders.Create("yahoo", HistoricalProviderOptions.Default));

        Assert.StartsWith("unknown provider 'yahoo'; known: synthetic, file, binance, polygon", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_FileWithoutPath_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => HistoricalProviders.Create("file", HistoricalProviderOptions.Default));

        Assert.StartsWith("provider file needs a path", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_Synthetic_UsesTheSeed()
    {
        var provider = HistoricalProviders.Create("synthetic", new HistoricalProviderOptions { Seed = 9 });
        var ct = TestContext.Current.CancellationToken;

        var bars = await provider.FetchAsync("BTC-USD", 0, 600_000, BarInterval.OneMinute, ct).ToListAsync();

        Assert.Equal(await new SyntheticHistoricalProvider(9).FetchAsync("BTC-USD", 0, 600_000, BarInterval.OneMinute, ct).ToListAsync(), bars);
        Assert.NotEqual(await new SyntheticHistoricalProvider(8).FetchAsync("BTC-USD", 0, 600_000, BarInterval.OneMinute, ct).ToListAsync(), bars);
    }
}
