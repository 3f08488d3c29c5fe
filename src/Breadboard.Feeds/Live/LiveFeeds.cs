using Breadboard.Feeds.Live.Alpaca;
using Breadboard.Feeds.Live.Binance;
using Breadboard.Feeds.Live.Coinbase;
using Breadboard.Feeds.Live.Kraken;

namespace Breadboard.Feeds.Live;

/// <summary>The venues by their <c>--feed</c> name.</summary>
public static class LiveFeeds
{
    public static IReadOnlyList<string> Names { get; } = ["coinbase", "binance", "kraken", "alpaca"];

    /// <summary>The protocol of <paramref name="venue"/> for these symbols.</summary>
    /// <exception cref="ArgumentException">An unknown venue, a symbol the venue cannot take, or (alpaca) a key missing from the environment.</exception>
    public static IVenueProtocol Protocol(string venue, IReadOnlyList<string> symbols) => venue switch
    {
        "coinbase" => new CoinbaseProtocol(symbols),
        "binance" => new BinanceProtocol(symbols),
        "kraken" => new KrakenProtocol(symbols),
        "alpaca" => AlpacaProtocol.FromEnvironment(symbols),
        _ => throw new ArgumentException($"unknown venue '{venue}'; expected {string.Join(", ", Names)}", nameof(venue)),
    };
}
