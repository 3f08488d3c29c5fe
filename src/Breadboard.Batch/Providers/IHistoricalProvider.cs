using Breadboard.Core.Model;

namespace Breadboard.Batch.Providers;

/// <summary>
/// A source of historical OHLCV bars: the synthetic generator, a file, or a market-data HTTP API. The batch's
/// fetch step stages what a provider returns; validation and the store write come after.
/// </summary>
public interface IHistoricalProvider
{
    /// <summary>The provider's name as <c>--provider</c> takes it (<c>synthetic</c>, <c>file</c>, <c>binance</c>, <c>polygon</c>).</summary>
    string Name { get; }

    /// <summary>
    /// The bars of <paramref name="symbol"/> whose start lies in [<paramref name="fromMs"/>, <paramref name="toMs"/>)
    /// (epoch ms), ascending by start, as the provider reports them: a provider never repairs or drops its data,
    /// that is validation's job. Each bar's <see cref="Bar.Window"/> is the interval (<c>1m</c>),
    /// <see cref="Bar.WindowEnd"/> its start plus the interval, <see cref="Bar.Vwap"/> null unless the source gives
    /// one, <see cref="Bar.Trades"/> 0 unless it gives a count.
    /// </summary>
    /// <exception cref="HistoricalProviderException">The source refused or failed after retries; the message names the provider, symbol and reason in one line.</exception>
    IAsyncEnumerable<Bar> FetchAsync(string symbol, long fromMs, long toMs, BarInterval interval, CancellationToken cancellationToken = default);
}

/// <summary>A bar interval the providers support: <c>1m</c>, <c>5m</c>, <c>15m</c>, <c>1h</c>, <c>1d</c>.</summary>
public readonly record struct BarInterval(string Text, long Milliseconds)
{
    public static readonly BarInterval OneMinute = new("1m", 60_000);

    public static IReadOnlyList<BarInterval> All { get; } =
        [OneMinute, new("5m", 300_000), new("15m", 900_000), new("1h", 3_600_000), new("1d", 86_400_000)];

    public static bool TryParse(string? text, out BarInterval interval)
    {
        foreach (var candidate in All)
        {
            if (string.Equals(candidate.Text, text, StringComparison.Ordinal))
            {
                interval = candidate;
                return true;
            }
        }

        interval = default;
        return false;
    }

    public override string ToString() => Text;
}

/// <summary>A provider failed for good (bad key, unknown symbol, out of retries); the message is one line.</summary>
public sealed class HistoricalProviderException : Exception
{
    public HistoricalProviderException()
    {
    }

    public HistoricalProviderException(string message)
        : base(message)
    {
    }

    public HistoricalProviderException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
