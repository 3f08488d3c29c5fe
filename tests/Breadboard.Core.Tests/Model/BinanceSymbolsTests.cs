using Breadboard.Core.Model;

namespace Breadboard.Core.Tests.Model;

/// <summary>The one pair-naming rule the live Binance feed and the klines provider share.</summary>
public sealed class BinanceSymbolsTests
{
    [Theory]
    [InlineData("BTC-USD", "BTCUSDT")]
    [InlineData("eth/usd", "ETHUSDT")]
    [InlineData("ETH-BTC", "ETHBTC")]
    [InlineData("BTC-USDT", "BTCUSDT")]
    [InlineData("BTCUSDT", "BTCUSDT")]
    [InlineData("btcusdt", "BTCUSDT")]
    [InlineData(" sol - eur ", "SOLEUR")]
    public void ToPair_MapsUsdToUsdtAndKeepsOtherQuotes(string symbol, string expected) =>
        Assert.Equal(expected, BinanceSymbols.ToPair(symbol));

    [Theory]
    [InlineData("BTCUSDT", "BTC-USD")]
    [InlineData("ETHBTC", "ETH-BTC")]
    [InlineData("XYZ", null)]
    public void FromPair_MapsUsdtBackToUsd(string pair, string? expected) =>
        Assert.Equal(expected, BinanceSymbols.FromPair(pair));
}
