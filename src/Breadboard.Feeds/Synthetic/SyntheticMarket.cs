using Breadboard.Core.Model;

namespace Breadboard.Feeds.Synthetic;

/// <summary>One run of the synthetic market: the random state and every symbol's price, clock and shock.</summary>
/// <remarks>
/// Each tick draws, in this order: the exponential gap, the symbol, the shock coin (and, when a shock starts, its
/// sign, size and duration), the price's normal and the trade size's normal. Changing that order changes every
/// seed's ticks, which the golden test is there to notice.
/// </remarks>
internal sealed class SyntheticMarket
{
    // A calendar year: the synthetic market trades around the clock, weekends included.
    private const double MsPerYear = 365.25 * 86_400_000;
    private const double StockMedianTradeShares = 100;
    private const double CryptoMedianTradeNotional = 2_000;
    private const double TradeSizeSigma = 1.0;
    private const double ShockSizeJitter = 0.25;

    private static readonly double[] PowersOfTen = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8];

    private readonly Xoshiro256StarStar _random;
    private readonly SymbolState[] _symbols;
    private readonly long _startMs;
    private readonly double _meanGapMs;
    private readonly double _shockProbability;
    private readonly double _shockSize;
    private readonly long _shockMinDurationMs;
    private readonly long _shockDurationRangeMs;
    private readonly double _shockVolumeMultiplier;
    private double _clockMs;

    /// <param name="tradeIdBase">Trade ids count up from here + 1, per symbol.</param>
    public SyntheticMarket(SyntheticFeedOptions options, long startMs, long tradeIdBase = 0)
    {
        _random = new Xoshiro256StarStar(unchecked((ulong)options.Seed));
        _startMs = startMs;
        _meanGapMs = 1000.0 / options.RatePerSecond;
        _shockProbability = options.ShockProbability;
        _shockSize = options.ShockSize;
        _shockMinDurationMs = options.ShockMinDurationMs;
        _shockDurationRangeMs = options.ShockMaxDurationMs - options.ShockMinDurationMs;
        _shockVolumeMultiplier = options.ShockVolumeMultiplier;

        _symbols = new SymbolState[options.Symbols.Count];
        for (var i = 0; i < _symbols.Length; i++)
        {
            var symbol = options.Symbols[i];
            var assetClass = AssetClasses.Infer(symbol);
            var crypto = assetClass == AssetClass.Crypto;
            var startPrice = options.StartPrice(symbol);
            var sigma = crypto ? options.CryptoAnnualVolatility : options.StockAnnualVolatility;
            // Crypto trades are sized in coins worth about the same money whatever the coin's price.
            var medianSize = crypto ? CryptoMedianTradeNotional / startPrice : StockMedianTradeShares;
            _symbols[i] = new SymbolState
            {
                Symbol = symbol,
                AssetClass = assetClass,
                Exchange = crypto ? options.CryptoExchange : options.StockExchange,
                Sigma = sigma,
                // −σ²/2 makes the price a martingale, so no symbol drifts off on its own.
                Drift = -0.5 * sigma * sigma,
                LogPrice = Math.Log(startPrice),
                LastTs = startMs,
                LastTradeId = tradeIdBase,
                LogMedianSize = Math.Log(medianSize),
                SizeScale = crypto ? PowersOfTen[SizeDecimals(medianSize)] : 1.0,
            };
        }
    }

    public Tick Next()
    {
        _clockMs += _random.NextExponential() * _meanGapMs;
        var ts = _startMs + (long)_clockMs;

        ref var s = ref _symbols[_random.NextInt(_symbols.Length)];
        var dtYears = (ts - s.LastTs) / MsPerYear;
        s.LastTs = ts;

        if (!s.InShock && _random.NextDouble() < _shockProbability)
        {
            var sign = _random.NextDouble() < 0.5 ? -1.0 : 1.0;
            var magnitude = _shockSize * (1.0 + (ShockSizeJitter * ((2.0 * _random.NextDouble()) - 1.0)));
            s.InShock = true;
            s.ShockStartMs = ts;
            s.ShockDurationMs = _shockMinDurationMs + (long)(_random.NextDouble() * (_shockDurationRangeMs + 1));
            // A multiplicative move, so an 8 % drop is exactly −8 % however long the ramp.
            s.ShockLogMove = Math.Log(1.0 + (sign * magnitude));
            s.ShockApplied = 0;
        }

        s.LogPrice += (s.Drift * dtYears) + (s.Sigma * Math.Sqrt(dtYears) * _random.NextNormal());

        var volumeFactor = 1.0;
        if (s.InShock)
        {
            // The move is spread linearly over event time, so the tick rate does not change its shape.
            var elapsed = ts - s.ShockStartMs;
            double target;
            if (elapsed >= s.ShockDurationMs)
            {
                target = s.ShockLogMove;
                s.InShock = false;
            }
            else
            {
                target = s.ShockLogMove * elapsed / s.ShockDurationMs;
                volumeFactor = _shockVolumeMultiplier;
            }

            s.LogPrice += target - s.ShockApplied;
            s.ShockApplied = target;
        }

        var price = RoundPrice(Math.Exp(s.LogPrice), s.AssetClass);
        var tradeSize = Math.Exp(s.LogMedianSize + (TradeSizeSigma * _random.NextNormal())) * volumeFactor;
        var volume = RoundToStep(tradeSize, s.SizeScale);
        return new Tick(s.Symbol, ts, price, volume, TradeId.FromNumber(++s.LastTradeId), s.Exchange, s.AssetClass);
    }

    /// <summary>Rounds to the venue's tick: cents for stocks from $1 and for crypto from $10, finer below.</summary>
    internal static double RoundPrice(double price, AssetClass assetClass)
    {
        double scale;
        if (assetClass == AssetClass.Stock)
        {
            scale = price >= 1 ? 1e2 : 1e4;
        }
        else
        {
            scale = price >= 10 ? 1e2 : price >= 0.1 ? 1e4 : price >= 0.001 ? 1e6 : 1e8;
        }

        return RoundToStep(price, scale);
    }

    /// <summary>
    /// Rounds to 1/<paramref name="scale"/>, never below one step so prices and sizes stay positive. Dividing the
    /// rounded integer by an exact power of ten gives the double nearest the decimal, which prints short.
    /// </summary>
    private static double RoundToStep(double value, double scale) => Math.Max(Math.Round(value * scale), 1.0) / scale;

    /// <summary>Decimals that give a crypto trade size about four significant digits at its median.</summary>
    private static int SizeDecimals(double medianSize)
    {
        var decimals = 0;
        while (decimals < PowersOfTen.Length - 1 && medianSize * PowersOfTen[decimals] < 1000)
        {
            decimals++;
        }

        return decimals;
    }

    private struct SymbolState
    {
        public string Symbol;
        public AssetClass AssetClass;
        public string? Exchange;
        public double Sigma;
        public double Drift;
        public double LogPrice;
        public long LastTs;
        public long LastTradeId;
        public double LogMedianSize;
        public double SizeScale;
        public bool InShock;
        public long ShockStartMs;
        public long ShockDurationMs;
        public double ShockLogMove;
        public double ShockApplied;
    }
}
