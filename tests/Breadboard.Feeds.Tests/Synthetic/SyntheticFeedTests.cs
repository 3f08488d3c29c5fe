using Breadboard.Core.Model;
using Breadboard.Feeds.Synthetic;
using CsCheck;

namespace Breadboard.Feeds.Tests.Synthetic;

public class SyntheticFeedTests
{
    private const long Start = 1_767_312_000_000; // 2026-01-02T00:00:00Z

    private static SyntheticFeed Feed(SyntheticFeedOptions? options = null) =>
        new((options ?? SyntheticFeedOptions.Default) with { StartTime = Start });

    [Fact]
    public void Generate_SameSeed_GivesIdenticalTicks()
    {
        var first = Feed().Generate(20_000).ToList();
        var second = Feed().Generate(20_000).ToList();

        Assert.Equal(first, second);
    }

    [Fact]
    public void Generate_EnumeratedTwice_StartsAgainFromTheSeed()
    {
        var ticks = Feed().Generate(1_000);

        Assert.Equal(ticks.ToList(), ticks.ToList());
    }

    [Fact]
    public void Generate_DifferentSeed_GivesDifferentTicks()
    {
        var first = Feed().Generate(1_000).ToList();
        var second = Feed(SyntheticFeedOptions.Default with { Seed = 43 }).Generate(1_000).ToList();

        Assert.NotEqual(first, second);
        Assert.NotEqual(first.Select(t => t.Price), second.Select(t => t.Price));
    }

    [Fact]
    public void Generate_DefaultOptions_MatchesTheGoldenTicks()
    {
        // Pinned: a change here changes every seed's ticks (and every benchmark file), so it must be deliberate.
        var ticks = Feed().Generate(100_001).ToList();

        Assert.Equal(new Tick("TSLA", Start, 250, 214, TradeId.FromNumber(1), "synthetic", AssetClass.Stock), ticks[0]);
        Assert.Equal(new Tick("ETH-USD", Start + 9, 2300.03, 0.2736, TradeId.FromNumber(1), "synthetic", AssetClass.Crypto), ticks[1]);
        Assert.Equal(new Tick("NVDA", Start + 17, 480, 133, TradeId.FromNumber(1), "synthetic", AssetClass.Stock), ticks[2]);
        // Far enough in that the whole price path and any shock so far feed into it.
        Assert.Equal(new Tick("NVDA", Start + 498_531, 479.82, 213, TradeId.FromNumber(12_437), "synthetic", AssetClass.Stock), ticks[100_000]);
    }

    [Fact]
    public void Generate_AnySeedAndRate_KeepsTheTickInvariants()
    {
        var symbols = new[] { "AAPL", "BTC-USD", "ETH/USDT", "XYZ" };
        var gen = Gen.Select(Gen.Long, Gen.Double[0.5, 5_000], Gen.Int[1, symbols.Length]);
        gen.Sample((seed, rate, symbolCount) =>
        {
            var options = SyntheticFeedOptions.Default with
            {
                Seed = seed,
                RatePerSecond = rate,
                Symbols = symbols[..symbolCount],
                // Shock often, so ramps are exercised in a short stream.
                ShockProbability = 0.01,
            };
            var lastTs = long.MinValue;
            var lastTradeIds = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var tick in Feed(options).Generate(2_000))
            {
                Assert.True(tick.Ts >= Start && tick.Ts >= lastTs, "ts must not go backwards");
                lastTs = tick.Ts;
                Assert.True(double.IsFinite(tick.Price) && tick.Price > 0, $"price {tick.Price}");
                Assert.True(double.IsFinite(tick.Volume) && tick.Volume >= 0, $"volume {tick.Volume}");
                Assert.Equal(AssetClasses.Infer(tick.Symbol), tick.AssetClass);
                Assert.Equal("synthetic", tick.Exchange);
                var id = long.Parse(tick.TradeId.ToString()!, System.Globalization.CultureInfo.InvariantCulture);
                Assert.Equal(lastTradeIds.GetValueOrDefault(tick.Symbol) + 1, id);
                lastTradeIds[tick.Symbol] = id;
                if (tick.AssetClass == AssetClass.Stock)
                {
                    Assert.Equal(Math.Round(tick.Volume), tick.Volume);
                }
            }
        }, iter: 50);
    }

    [Fact]
    public void Generate_DefaultSymbols_HaveTheirAssetClassAndPricePrecision()
    {
        var classes = new Dictionary<string, AssetClass>(StringComparer.Ordinal);
        foreach (var tick in Feed().Generate(20_000))
        {
            classes[tick.Symbol] = tick.AssetClass;
            // Cents for everything priced above $10; the rounded value must print as such.
            Assert.Equal(Math.Round(tick.Price * 100) / 100, tick.Price);
            Assert.True(tick.Volume > 0);
        }

        Assert.Equal(SyntheticFeedOptions.Default.Symbols.Order(StringComparer.Ordinal), classes.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(AssetClass.Crypto, classes["BTC-USD"]);
        Assert.Equal(AssetClass.Crypto, classes["SOL-USD"]);
        Assert.Equal(AssetClass.Stock, classes["AAPL"]);
        Assert.Equal(AssetClass.Stock, classes["NVDA"]);
    }

    [Fact]
    public void Generate_Exchanges_FollowTheAssetClassOptions()
    {
        var options = SyntheticFeedOptions.Default with { StockExchange = "nasdaq", CryptoExchange = null };

        foreach (var tick in Feed(options).Generate(1_000))
        {
            Assert.Equal(tick.AssetClass == AssetClass.Stock ? "nasdaq" : null, tick.Exchange);
        }
    }

    [Fact]
    public void Generate_UnknownSymbol_StartsAtTheFallbackPrice()
    {
        var options = SyntheticFeedOptions.Default with { Symbols = ["ZZZZ"] };

        Assert.Equal(100, Feed(options).Generate(1).Single().Price);
    }

    [Fact]
    public void Generate_WithoutStartTime_Throws()
    {
        var feed = new SyntheticFeed(SyntheticFeedOptions.Default);

        Assert.Throws<InvalidOperationException>(() => feed.Generate(1));
    }

    private static readonly Dictionary<string, SyntheticFeedOptions> InvalidOptions = new(StringComparer.Ordinal)
    {
        ["no symbols"] = SyntheticFeedOptions.Default with { Symbols = [] },
        ["duplicate symbol"] = SyntheticFeedOptions.Default with { Symbols = ["AAPL", "AAPL"] },
        ["zero rate"] = SyntheticFeedOptions.Default with { RatePerSecond = 0 },
        ["infinite rate"] = SyntheticFeedOptions.Default with { RatePerSecond = double.PositiveInfinity },
        ["negative volatility"] = SyntheticFeedOptions.Default with { StockAnnualVolatility = -0.1 },
        ["probability above 1"] = SyntheticFeedOptions.Default with { ShockProbability = 1.5 },
        ["shock that could zero a price"] = SyntheticFeedOptions.Default with { ShockSize = 0.9 },
        ["min duration above max"] = SyntheticFeedOptions.Default with { ShockMinDurationMs = 200_000 },
        ["negative start price"] = SyntheticFeedOptions.Default with { StartPrices = new Dictionary<string, double> { ["AAPL"] = -1 } },
        ["start before 1970"] = SyntheticFeedOptions.Default with { StartTime = -1 },
    };

    public static TheoryData<string> InvalidOptionNames => [.. InvalidOptions.Keys];

    [Theory]
    [MemberData(nameof(InvalidOptionNames))]
    public void Constructor_InvalidOptions_Throws(string invalid) =>
        Assert.Throws<ArgumentException>(() => new SyntheticFeed(InvalidOptions[invalid]));

    [Fact]
    public void ForBenchmark_FiftySymbols_MixesStocksAndCryptoAtTenTicksASecondEach()
    {
        var options = SyntheticFeedOptions.ForBenchmark(50);

        Assert.Equal(50, options.Symbols.Distinct().Count());
        Assert.Equal(10, options.Symbols.Count(s => AssetClasses.Infer(s) == AssetClass.Crypto));
        Assert.Equal("SYM001", options.Symbols[0]);
        Assert.Equal("SYM005-USD", options.Symbols[4]);
        Assert.Equal(500, options.RatePerSecond);
        Assert.Equal(SyntheticFeedOptions.BenchmarkStartTime, options.StartTime);
        Assert.Equal("2026-01-02T00:00:00.000Z", EventTime.ToIso(SyntheticFeedOptions.BenchmarkStartTime));
        Assert.Equal(50, new SyntheticFeed(options).Generate(5_000).Select(t => t.Symbol).Distinct().Count());
    }
}
