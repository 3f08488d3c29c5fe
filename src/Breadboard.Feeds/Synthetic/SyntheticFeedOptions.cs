using System.Collections.Frozen;
using System.Globalization;
using Breadboard.Core.Model;

namespace Breadboard.Feeds.Synthetic;

/// <summary>What the <see cref="SyntheticFeed"/> generates: symbols, rate, volatility, shocks and the seed.</summary>
/// <remarks>
/// The defaults are tuned so that the default pipeline has something to report: every few minutes one symbol
/// moves by about 8 % within 1–3 minutes (price_drop/price_spike over 5 minutes) while trading ten times its
/// usual volume (volume_surge at 5× the mean of the previous 20 one-minute bars).
/// </remarks>
public sealed record SyntheticFeedOptions
{
    /// <summary>Start of the benchmark file's event time, 2026-01-02T00:00:00Z.</summary>
    public const long BenchmarkStartTime = 1_767_312_000_000;

    private static readonly FrozenDictionary<string, double> DefaultStartPrices = new Dictionary<string, double>(StringComparer.Ordinal)
    {
        ["AAPL"] = 190.00,
        ["MSFT"] = 410.00,
        ["NVDA"] = 480.00,
        ["TSLA"] = 250.00,
        ["AMZN"] = 150.00,
        ["BTC-USD"] = 43_000.00,
        ["ETH-USD"] = 2_300.00,
        ["SOL-USD"] = 100.00,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static SyntheticFeedOptions Default { get; } = new();

    /// <summary>Symbols traded; those with a '-' or '/' (BTC-USD) are crypto, the others stocks.</summary>
    public IReadOnlyList<string> Symbols { get; init; } = ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "BTC-USD", "ETH-USD", "SOL-USD"];

    /// <summary>First price per symbol; a symbol missing here starts at <see cref="FallbackStartPrice"/>.</summary>
    public IReadOnlyDictionary<string, double> StartPrices { get; init; } = DefaultStartPrices;

    public double FallbackStartPrice { get; init; } = 100.0;

    /// <summary>Ticks per second across all symbols; each tick goes to a symbol drawn uniformly.</summary>
    public double RatePerSecond { get; init; } = 200.0;

    public long Seed { get; init; } = 42;

    /// <summary>Annualised volatility of stock prices (a year being 365.25 days: the synthetic market never closes).</summary>
    public double StockAnnualVolatility { get; init; } = 0.3;

    public double CryptoAnnualVolatility { get; init; } = 0.7;

    /// <summary>
    /// Chance that a tick starts a shock on its symbol (ignored while that symbol is in one). The default,
    /// 1 in 36 000, is one shock about every 3 minutes at 200 ticks/s.
    /// </summary>
    public double ShockProbability { get; init; } = 1.0 / 36_000;

    /// <summary>
    /// Mean size of a shock's price move as a fraction (0.08 = 8 %); each shock is a drop or a spike with equal
    /// chance, of a size drawn uniformly within ±25 % of this.
    /// </summary>
    public double ShockSize { get; init; } = 0.08;

    /// <summary>Shortest event time over which a shock's move is spread.</summary>
    public long ShockMinDurationMs { get; init; } = 60_000;

    public long ShockMaxDurationMs { get; init; } = 180_000;

    /// <summary>Factor on trade sizes while a shock runs, so its minutes stand out as volume surges.</summary>
    public double ShockVolumeMultiplier { get; init; } = 10.0;

    /// <summary>Event time of the first tick's clock, epoch ms UTC; null for a live feed on the wall clock.</summary>
    public long? StartTime { get; init; }

    /// <summary>Exchange name on stock ticks; null leaves it out.</summary>
    public string? StockExchange { get; init; } = "synthetic";

    public string? CryptoExchange { get; init; } = "synthetic";

    /// <summary>
    /// <paramref name="symbolCount"/> symbols named SYM001, SYM002, ... (every fifth one crypto: SYM005-USD) at 10
    /// ticks/s each, starting at <see cref="BenchmarkStartTime"/>; 50 symbols give 500 ticks/s, so 1.4 M ticks
    /// span about 47 minutes: enough for the 20-bar volume lookback and a few dozen shocks.
    /// </summary>
    public static SyntheticFeedOptions ForBenchmark(int symbolCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(symbolCount, 1);
        ReadOnlySpan<double> cryptoPrices = [40_000.0, 2_500.0, 150.0, 25.0, 2.0, 0.5];
        var symbols = new string[symbolCount];
        var startPrices = new Dictionary<string, double>(symbolCount, StringComparer.Ordinal);
        for (var i = 1; i <= symbolCount; i++)
        {
            var crypto = i % 5 == 0;
            var symbol = string.Create(CultureInfo.InvariantCulture, $"SYM{i:000}{(crypto ? "-USD" : "")}");
            symbols[i - 1] = symbol;
            // Spread the prices so the file has cheap and dear symbols, with their different precisions.
            startPrices[symbol] = crypto ? cryptoPrices[(i / 5) % cryptoPrices.Length] : 5 + (i * 37 % 496);
        }

        return Default with
        {
            Symbols = symbols,
            StartPrices = startPrices.ToFrozenDictionary(StringComparer.Ordinal),
            RatePerSecond = 10.0 * symbolCount,
            StartTime = BenchmarkStartTime,
        };
    }

    internal double StartPrice(string symbol) =>
        StartPrices.TryGetValue(symbol, out var price) ? price : FallbackStartPrice;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting that cannot work.</summary>
    public void Validate()
    {
        if (Symbols is null || Symbols.Count == 0)
        {
            throw new ArgumentException("SyntheticFeedOptions.Symbols must name at least one symbol");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var symbol in Symbols)
        {
            if (string.IsNullOrEmpty(symbol))
            {
                throw new ArgumentException("SyntheticFeedOptions.Symbols must not contain empty names");
            }

            if (!seen.Add(symbol))
            {
                throw new ArgumentException($"SyntheticFeedOptions.Symbols lists '{symbol}' twice");
            }

            var price = StartPrice(symbol);
            if (!double.IsFinite(price) || price <= 0)
            {
                throw new ArgumentException($"start price of '{symbol}' must be finite and positive, not {price}");
            }
        }

        Check(double.IsFinite(RatePerSecond) && RatePerSecond > 0, "RatePerSecond must be finite and positive");
        Check(double.IsFinite(StockAnnualVolatility) && StockAnnualVolatility >= 0, "StockAnnualVolatility must be finite and not negative");
        Check(double.IsFinite(CryptoAnnualVolatility) && CryptoAnnualVolatility >= 0, "CryptoAnnualVolatility must be finite and not negative");
        Check(ShockProbability is >= 0 and <= 1, "ShockProbability must be within [0, 1]");
        // 1.25 × ShockSize must stay below 1, or a drop would take the price to zero or below.
        Check(ShockSize is >= 0 and < 0.8, "ShockSize must be within [0, 0.8)");
        Check(ShockMinDurationMs > 0 && ShockMaxDurationMs >= ShockMinDurationMs, "ShockMinDurationMs must be positive and at most ShockMaxDurationMs");
        Check(double.IsFinite(ShockVolumeMultiplier) && ShockVolumeMultiplier > 0, "ShockVolumeMultiplier must be finite and positive");
        Check(StartTime is null or (>= EventTime.MinMs and <= EventTime.MaxMs), "StartTime must be within the years 1970 to 9999");
    }

    private static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException("SyntheticFeedOptions." + message);
        }
    }
}
