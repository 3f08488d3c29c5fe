using System.Runtime.CompilerServices;
using Breadboard.Core.Model;

namespace Breadboard.Batch.Providers;

/// <summary>
/// Made-up but plausible OHLCV bars, a pure function of (seed, symbol, interval, bar start): fetching [a, c) gives
/// exactly the bars of [a, b) followed by those of [b, c).
/// </summary>
/// <remarks>
/// <para>The log price is a sum of octaves of hash-seeded value noise (lattice steps of 1 minute × 4^k, up to about two
/// years), each weighted like Brownian motion at its scale: it moves like a random walk at every interval, yet any
/// instant's price is computed without the ones before it. The hash is splitmix64, not <see cref="Random"/>,
/// whose algorithm .NET does not promise to keep.</para>
/// <para>Crypto symbols (BTC-USD) trade around the clock; stocks trade only in NYSE regular hours, 09:30-16:00
/// America/New_York, Monday to Friday: an intraday bar exists when it starts in the session, a daily bar (UTC day) on
/// every weekday. Exchange holidays are ignored: a synthetic 4th of July trades.</para>
/// </remarks>
public sealed class SyntheticHistoricalProvider : IHistoricalProvider
{
    public const string ProviderName = "synthetic";

    private const double MsPerYear = 365.25 * 86_400_000;
    private const int Octaves = 11;
    private const long BaseStepMs = 60_000;
    private const long DayMs = 86_400_000;
    // Brownian weights at each octave's scale sum to about this share of the walk's variance.
    private const double OctaveWeight = 0.7;
    private const double StockAnnualVolatility = 0.3;
    private const double CryptoAnnualVolatility = 0.6;
    private const double StockSharesPerMinute = 10_000;
    private const double StockSharesPerTrade = 100;
    private const double CryptoNotionalPerMinute = 200_000;
    private const double CryptoNotionalPerTrade = 2_000;


    private readonly ulong _seed;

    public SyntheticHistoricalProvider(long seed = 1) => _seed = Mix(unchecked((ulong)seed));

    public string Name => ProviderName;

    public async IAsyncEnumerable<Bar> FetchAsync(string symbol, long fromMs, long toMs, BarInterval interval, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(symbol);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(interval.Milliseconds);
        await Task.CompletedTask;
        var series = new Series(_seed, symbol, interval);
        var step = interval.Milliseconds;
        if (series.Crypto)
        {
            for (var start = AlignUp(fromMs, step); start < toMs; start += step)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return series.Bar(start, step);
            }

            yield break;
        }

        // Stocks: walk the New York trading days that can hold a bar of the range.
        var zone = MarketHours.NewYork;
        var lastStart = long.MinValue;
        var firstDay = TimeZoneInfo.ConvertTimeFromUtc(EventTime.ToDateTimeOffset(Math.Max(fromMs - step, EventTime.MinMs)).UtcDateTime, zone).Date;
        // A day later than the range's end: a daily bar starts at UTC midnight, while New York's date is still the day before.
        var lastDay = TimeZoneInfo.ConvertTimeFromUtc(EventTime.ToDateTimeOffset(Math.Min(toMs + DayMs, EventTime.MaxMs)).UtcDateTime, zone).Date;
        for (var day = firstDay; day <= lastDay; day = day.AddDays(1))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (day.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday)
            {
                continue;
            }

            var open = SessionEdge(day + MarketHours.Open, zone);
            var close = SessionEdge(day + MarketHours.Close, zone);
            // Intraday bars start inside the session (as MarketHours.IsNyseOpen in validation expects), so a 1h bar
            // starts at 10:00 and 09:30-10:00 has none; a daily bar is the UTC day's, which holds the session.
            var first = step >= DayMs ? AlignDown(open, step) : AlignUp(open, step);
            var start = Math.Max(first, AlignUp(fromMs, step));
            if (start <= lastStart)
            {
                start = lastStart + step;
            }

            for (; start < close && start < toMs; start += step)
            {
                var traded = Math.Min(start + step, close) - Math.Max(start, open);
                yield return series.Bar(start, traded);
                lastStart = start;
            }
        }
    }

    private static long SessionEdge(DateTime local, TimeZoneInfo zone) =>
        EventTime.FromDateTimeOffset(new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(local, zone), TimeSpan.Zero));

    private static long AlignDown(long ms, long step) => ms - (((ms % step) + step) % step);

    private static long AlignUp(long ms, long step)
    {
        var down = AlignDown(ms, step);
        return down == ms ? ms : down + step;
    }

    /// <summary>splitmix64's finaliser.</summary>
    internal static ulong Mix(ulong z)
    {
        unchecked
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>FNV-1a over the UTF-16 code units: stable across processes, unlike <see cref="string.GetHashCode()"/>.</summary>
    internal static ulong Fnv1a(string text)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in text)
        {
            hash = unchecked((hash ^ c) * 1099511628211UL);
        }

        return hash;
    }

    private static double Uniform(ulong h) => ((h >> 11) + 0.5) * (1.0 / (1UL << 53));

    private static double Normal(ulong h) =>
        Math.Sqrt(-2 * Math.Log(Uniform(h))) * Math.Cos(2 * Math.PI * Uniform(Mix(h)));

    /// <summary>One symbol's price path under one seed.</summary>
    private readonly struct Series
    {
        private readonly ulong _key;
        private readonly string _symbol;
        private readonly string _window;
        private readonly long _intervalMs;
        private readonly double _logBase;
        private readonly double _sigmaPerSqrtMs;

        public Series(ulong seed, string symbol, BarInterval interval)
        {
            _symbol = symbol;
            _window = interval.Text;
            _intervalMs = interval.Milliseconds;
            _key = Mix(seed ^ Fnv1a(symbol));
            Crypto = AssetClasses.Infer(symbol) == AssetClass.Crypto;
            // Starting prices: crypto 1 to 50,000, stocks 10 to 500, log-uniform.
            var u = Uniform(Mix(_key ^ 0x5EED));
            _logBase = Crypto ? u * Math.Log(50_000) : Math.Log(10) + (u * Math.Log(50));
            _sigmaPerSqrtMs = (Crypto ? CryptoAnnualVolatility : StockAnnualVolatility) / Math.Sqrt(MsPerYear);
        }

        public bool Crypto { get; }

        /// <param name="tradedMs">The part of the bar the market was open, which scales its volume.</param>
        public Bar Bar(long start, long tradedMs)
        {
            var open = Price(start);
            var close = Price(start + _intervalMs);
            var h = Mix(_key ^ Mix(unchecked((ulong)start) ^ 0xBA5E));
            var barSigma = _sigmaPerSqrtMs * Math.Sqrt(_intervalMs);
            var high = Math.Max(open, close) * Math.Exp(0.5 * barSigma * Math.Abs(Normal(Mix(h ^ 1))));
            var low = Math.Min(open, close) * Math.Exp(-0.5 * barSigma * Math.Abs(Normal(Mix(h ^ 2))));
            var minutes = tradedMs / 60_000.0;
            var noise = Math.Exp((0.5 * Normal(Mix(h ^ 3))) - 0.125);
            double volume;
            double perTrade;
            if (Crypto)
            {
                volume = Math.Round(CryptoNotionalPerMinute / open * minutes * noise, 6);
                perTrade = CryptoNotionalPerTrade / open;
            }
            else
            {
                (open, high, low, close) = (Cents(open), Cents(high), Cents(low), Cents(close));
                volume = Math.Round(StockSharesPerMinute * minutes * noise);
                perTrade = StockSharesPerTrade;
            }

            var trades = (long)Math.Ceiling(volume / perTrade);
            // The typical price, clamped because (h + l + c) / 3 can round below l when all three are equal.
            double? vwap = volume > 0 ? Math.Clamp((high + low + close) / 3, low, high) : null;
            return new Bar(_symbol, _window, start, start + _intervalMs, open, high, low, close, volume, vwap, trades);
        }

        private static double Cents(double price) => Math.Round(price, 2, MidpointRounding.AwayFromZero);

        private double Price(long ms)
        {
            var log = _logBase;
            var step = BaseStepMs;
            for (var k = 0; k < Octaves; k++, step *= 4)
            {
                var cell = Math.DivRem(ms, step, out var offset);
                if (offset < 0)
                {
                    cell--;
                    offset += step;
                }

                var octaveKey = Mix(_key ^ (ulong)(k + 1));
                var left = Normal(Mix(octaveKey ^ unchecked((ulong)cell)));
                var right = Normal(Mix(octaveKey ^ unchecked((ulong)(cell + 1))));
                var t = (double)offset / step;
                log += OctaveWeight * _sigmaPerSqrtMs * Math.Sqrt(step) * (left + ((right - left) * t));
            }

            return Math.Exp(log);
        }
    }
}
