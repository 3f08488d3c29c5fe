using Breadboard.Core.Model;

namespace Breadboard.Core.Tests.Model;

public class AssetClassTests
{
    [Theory]
    [InlineData("BTC-USD", AssetClass.Crypto)]
    [InlineData("ETH/USDT", AssetClass.Crypto)]
    [InlineData("AAPL", AssetClass.Stock)]
    [InlineData("BRK.B", AssetClass.Stock)]
    public void Infer_WithPairOrTicker_PicksTheClass(string symbol, AssetClass expected) =>
        Assert.Equal(expected, AssetClasses.Infer(symbol));

    [Theory]
    [InlineData("crypto", AssetClass.Crypto)]
    [InlineData("CRYPTO", AssetClass.Crypto)]
    [InlineData("stock", AssetClass.Stock)]
    [InlineData("Stock", AssetClass.Stock)]
    public void TryParse_WithKnownName_ReadsIt(string text, AssetClass expected)
    {
        Assert.True(AssetClasses.TryParse(text, out var parsed));
        Assert.Equal(expected, parsed);
    }

    [Theory]
    [InlineData("bond")]
    [InlineData("")]
    public void TryParse_WithUnknownName_Refuses(string text) => Assert.False(AssetClasses.TryParse(text, out _));

    [Fact]
    public void Name_OfEachClass_ParsesBack()
    {
        foreach (var c in Enum.GetValues<AssetClass>())
        {
            Assert.True(AssetClasses.TryParse(AssetClasses.Name(c), out var back));
            Assert.Equal(c, back);
        }
    }
}
