namespace Breadboard.Core.Model;

/// <summary>
/// Our symbols as Binance names its pairs, and back: one rule for the live feed (Breadboard.Feeds) and the klines
/// provider (Breadboard.Batch), so live and backfilled bars name the same pair. Both adapters reference only the core.
/// </summary>
public static class BinanceSymbols
{
    /// <summary>
    /// BTC-USD → BTCUSDT: the separator goes, USD becomes USDT, letters are upper-cased; other quotes are kept
    /// (ETH-BTC → ETHBTC).
    /// </summary>
    public static string ToPair(string symbol)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(symbol);
        var cut = symbol.AsSpan().IndexOfAny('-', '/');
        if (cut < 0)
        {
            return symbol.Trim().ToUpperInvariant();
        }

        var quote = symbol[(cut + 1)..].Trim().ToUpperInvariant();
        return symbol[..cut].Trim().ToUpperInvariant() + (quote == "USD" ? "USDT" : quote);
    }

    /// <summary>BTCUSDT → BTC-USD for the usual quote assets; null when the quote is not one of them.</summary>
    public static string? FromPair(string pair)
    {
        ArgumentNullException.ThrowIfNull(pair);
        foreach (var (quote, ours) in (ReadOnlySpan<(string, string)>)[("USDT", "USD"), ("USDC", "USDC"), ("FDUSD", "FDUSD"), ("BTC", "BTC"), ("ETH", "ETH"), ("BNB", "BNB"), ("EUR", "EUR")])
        {
            if (pair.Length > quote.Length && pair.EndsWith(quote, StringComparison.Ordinal))
            {
                return pair[..^quote.Length] + "-" + ours;
            }
        }

        return null;
    }
}
