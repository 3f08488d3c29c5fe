namespace Breadboard.Core.Model;

/// <summary>What kind of instrument a symbol is; it picks the Kafka topic and the trading calendar.</summary>
public enum AssetClass : byte
{
    Stock = 0,
    Crypto = 1,
}

/// <summary>Names and inference for <see cref="AssetClass"/>.</summary>
public static class AssetClasses
{
    public static string Name(AssetClass assetClass) => assetClass == AssetClass.Crypto ? "crypto" : "stock";

    public static bool TryParse(ReadOnlySpan<char> text, out AssetClass assetClass)
    {
        if (text.Equals("crypto", StringComparison.OrdinalIgnoreCase))
        {
            assetClass = AssetClass.Crypto;
            return true;
        }

        assetClass = AssetClass.Stock;
        return text.Equals("stock", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Guesses the class of a symbol whose input did not say: pairs such as BTC-USD or ETH/USDT are crypto.</summary>
    public static AssetClass Infer(string symbol) =>
        symbol.AsSpan().IndexOfAny('-', '/') >= 0 ? AssetClass.Crypto : AssetClass.Stock;
}
