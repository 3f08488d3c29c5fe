using System.Text;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;

namespace Breadboard.Core.Tests.Codec;

public class TickJsonTests
{
    private const string Canonical =
        """{"symbol":"BTC-USD","ts":"2026-01-02T14:30:00.123Z","price":43125.5,"volume":0.25,"trade_id":"9","exchange":"coinbase","asset_class":"crypto"}""";

    private static Tick Parse(string json)
    {
        var parser = new TickJson();
        Assert.True(parser.TryParse(Encoding.UTF8.GetBytes(json), out var tick, out var error), error);
        Assert.Null(error);
        return tick;
    }

    private static string Refuse(string json)
    {
        var parser = new TickJson();
        Assert.False(parser.TryParse(Encoding.UTF8.GetBytes(json), out _, out var error), $"accepted: {json}");
        Assert.False(string.IsNullOrWhiteSpace(error));
        Assert.DoesNotContain('\n', error);
        return error!;
    }

    [Fact]
    public void TryParse_WithCanonicalLine_ReadsEveryField()
    {
        var tick = Parse(Canonical);

        Assert.Equal("BTC-USD", tick.Symbol);
        Assert.Equal(1_767_364_200_123, tick.Ts);
        Assert.Equal(43125.5, tick.Price);
        Assert.Equal(0.25, tick.Volume);
        Assert.Equal(TradeId.FromNumber(9), tick.TradeId);
        Assert.Equal("coinbase", tick.Exchange);
        Assert.Equal(AssetClass.Crypto, tick.AssetClass);
    }

    [Theory]
    [InlineData("1767364200123")]
    [InlineData("\"1767364200123\"")]
    [InlineData("\"2026-01-02T15:30:00.123+01:00\"")]
    public void TryParse_WithEpochMillisecondsOrOffset_ReadsTheSameInstant(string ts) =>
        Assert.Equal(1_767_364_200_123, Parse($$"""{"symbol":"AAPL","ts":{{ts}},"price":1,"volume":1}""").Ts);

    [Fact]
    public void TryParse_WithNumbersAsStrings_ReadsThem()
    {
        var tick = Parse("""{"symbol":"AAPL","ts":0,"price":"43125.5","volume":"1e-3"}""");

        Assert.Equal(43125.5, tick.Price);
        Assert.Equal(0.001, tick.Volume);
    }

    [Fact]
    public void TryParse_WithNumericTradeId_EqualsTheSameIdAsText()
    {
        var tick = Parse("""{"symbol":"AAPL","ts":0,"price":1,"volume":1,"trade_id":9}""");

        Assert.Equal(TradeId.FromText("9"), tick.TradeId);
        Assert.True(tick.TradeId.IsNumber);
    }

    [Fact]
    public void TryParse_WithNineteenDigitTradeIdAsNumberOrText_ReadsTheSameId()
    {
        var asNumber = Parse("""{"symbol":"AAPL","ts":0,"price":1,"volume":1,"trade_id":1234567890123456789}""");
        var asText = Parse("""{"symbol":"AAPL","ts":0,"price":1,"volume":1,"trade_id":"1234567890123456789"}""");

        Assert.Equal(asNumber.TradeId, asText.TradeId);
    }

    [Theory]
    [InlineData("\"0009\"", "0009")]
    [InlineData("\"t-77\"", "t-77")]
    [InlineData("\"a\\/b\"", "a/b")]
    [InlineData("\"\\u0039\"", "9")]
    public void TryParse_WithTextTradeId_KeepsOrCanonicalisesIt(string json, string expected) =>
        Assert.Equal(TradeId.FromText(expected), Parse($$"""{"symbol":"AAPL","ts":0,"price":1,"volume":1,"trade_id":{{json}}}""").TradeId);

    [Fact]
    public void TryParse_WithEscapedStrings_UnescapesThem()
    {
        var tick = Parse("""{"symbol":"BTC\u002DUSD","ts":0,"price":1,"volume":1,"exchange":"co\"in\\base"}""");

        Assert.Equal("BTC-USD", tick.Symbol);
        Assert.Equal("co\"in\\base", tick.Exchange);
        Assert.Equal(AssetClass.Crypto, tick.AssetClass);
    }

    [Fact]
    public void TryParse_WithTsAsSystemTextJsonWritesIt_ReadsTheEscapedPlusSign()
    {
        // The default JavaScriptEncoder writes '+' as \u002B, so an offset time from a .NET producer arrives escaped.
        var line = System.Text.Json.JsonSerializer.Serialize(new { symbol = "AAPL", ts = "2026-01-02T15:30:00.123+01:00", price = 1, volume = 1 });
        Assert.Contains("\\u002B", line, StringComparison.Ordinal);

        Assert.Equal(1_767_364_200_123, Parse(line).Ts);
    }

    [Fact]
    public void TryParse_WithNumbersAsEscapedStrings_ReadsThem() =>
        Assert.Equal(12.5, Parse("""{"symbol":"AAPL","ts":0,"price":"\u0031\u0032.5","volume":1}""").Price);

    [Fact]
    public void TryParse_WithLongSymbolFullyEscaped_AcceptsWhatItAcceptsUnescaped()
    {
        var symbol = new string('é', 30);
        var escaped = string.Concat(Enumerable.Repeat("\\u00e9", 30));
        Assert.Equal(symbol, Parse($$"""{"symbol":"{{symbol}}","ts":0,"price":1,"volume":1}""").Symbol);

        Assert.Equal(symbol, Parse($$"""{"symbol":"{{escaped}}","ts":0,"price":1,"volume":1}""").Symbol);
    }

    [Fact]
    public void TryParse_WithEscapedAndPlainSymbol_InternsOneString()
    {
        var parser = new TickJson();
        Assert.True(parser.TryParse("""{"symbol":"AAPL","ts":0,"price":1,"volume":1}"""u8, out var plain, out _));
        Assert.True(parser.TryParse("""{"symbol":"\u0041APL","ts":0,"price":1,"volume":1}"""u8, out var escaped, out _));

        Assert.Same(plain.Symbol, escaped.Symbol);
    }

    [Fact]
    public void TryParse_WithUnknownFields_IgnoresThem()
    {
        var tick = Parse("""{"venue_seq":[1,{"a":null}],"symbol":"AAPL","meta":{"x":{"y":[true,false]}},"ts":0,"price":2,"flag":true,"volume":3,"note":null}""");

        Assert.Equal(("AAPL", 2.0, 3.0), (tick.Symbol, tick.Price, tick.Volume));
    }

    [Fact]
    public void TryParse_WithFieldsInAnyOrderAndWhitespace_ReadsThem()
    {
        var tick = Parse(""" { "volume" : 3 , "price" : 2 , "ts" : 5 , "symbol" : "AAPL" } """);

        Assert.Equal(("AAPL", 5L, 2.0, 3.0), (tick.Symbol, tick.Ts, tick.Price, tick.Volume));
        Assert.False(tick.TradeId.HasValue);
        Assert.Null(tick.Exchange);
    }

    [Theory]
    [InlineData("AAPL", AssetClass.Stock)]
    [InlineData("BTC-USD", AssetClass.Crypto)]
    [InlineData("ETH/USDT", AssetClass.Crypto)]
    [InlineData("BRK.B", AssetClass.Stock)]
    public void TryParse_WithoutAssetClass_InfersItFromTheSymbol(string symbol, AssetClass expected) =>
        Assert.Equal(expected, Parse($$"""{"symbol":"{{symbol}}","ts":0,"price":1,"volume":1}""").AssetClass);

    [Fact]
    public void TryParse_WithExplicitAssetClass_OverridesInference()
    {
        Assert.Equal(AssetClass.Stock, Parse("""{"symbol":"BTC-USD","ts":0,"price":1,"volume":1,"asset_class":"stock"}""").AssetClass);
        Assert.Equal(AssetClass.Crypto, Parse("""{"symbol":"AAPL","ts":0,"price":1,"volume":1,"asset_class":"crypto"}""").AssetClass);
        Assert.Equal(AssetClass.Crypto, Parse("""{"symbol":"BTC-USD","ts":0,"price":1,"volume":1,"asset_class":null}""").AssetClass);
    }

    [Fact]
    public void TryParse_WithSymbolOfSixtyFourCharacters_AcceptsIt() =>
        Assert.Equal(64, Parse($$"""{"symbol":"{{new string('A', 64)}}","ts":0,"price":1,"volume":1}""").Symbol.Length);

    [Fact]
    public void TryParse_WithZeroVolume_AcceptsIt() =>
        Assert.Equal(0, Parse("""{"symbol":"AAPL","ts":0,"price":1,"volume":0}""").Volume);

    [Theory]
    [InlineData("""{"symbol":"AAPL","ts":0,"price":1,"volume":1""")]
    [InlineData("""{"symbol":"AAPL","ts":0,"price":1,"volume":1}}""")]
    [InlineData("""{"symbol":"AAPL","ts":0,"price":1,"volume":1} {}""")]
    [InlineData("""{"symbol":"AAPL" "ts":0}""")]
    [InlineData("""{symbol:"AAPL"}""")]
    [InlineData("")]
    public void TryParse_WithMalformedJson_RefusesAsMalformed(string json) =>
        Assert.Contains("JSON", Refuse(json), StringComparison.Ordinal);

    // Found by fuzzing (fuzz/corpus/tick-json/crash-*): Utf8JsonReader leaves strings unvalidated until they are
    // unescaped or compared, and then throws InvalidOperationException, which escaped TryParse.
    [Theory]
    [InlineData("""{"\ud800":"AAPL","ts":0,"price":1,"volume":1}""")]
    [InlineData("""{"symbol":"\ud800AAPL","ts":0,"price":1,"volume":1}""")]
    [InlineData("""{"symbol":"AAPL","ts":"\udc00","price":1,"volume":1}""")]
    [InlineData("""{"symbol":"AAPL","ts":0,"price":"1\ud800","volume":1}""")]
    [InlineData("""{"symbol":"AAPL","ts":0,"price":1,"volume":1,"trade_id":"\udc00"}""")]
    [InlineData("""{"symbol":"AAPL","ts":0,"price":1,"volume":1,"asset_class":"\ud800\u0041"}""")]
    [InlineData("""{"symbol":"ETH\u002d\xff","ts":0,"price":1,"volume":1}""")]
    [InlineData("""{"symbol":"AAPL","ts":0,"price":"1\u002e\x9f5","volume":1}""")]
    public void TryParse_WithInvalidEscapeOrInvalidUtf8_RefusesAsMalformed(string line)
    {
        // \xNN stands for that byte, which no C# string can carry as UTF-8.
        var bytes = new List<byte>();
        for (var i = 0; i < line.Length; i++)
        {
            if (line[i] == '\\' && line[i + 1] == 'x')
            {
                bytes.Add(Convert.ToByte(line.Substring(i + 2, 2), 16));
                i += 3;
            }
            else
            {
                bytes.Add((byte)line[i]);
            }
        }

        Assert.False(new TickJson().TryParse(bytes.ToArray(), out _, out var error));
        Assert.StartsWith("malformed JSON", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("\"AAPL\"")]
    [InlineData("42")]
    [InlineData("null")]
    public void TryParse_WithSomethingOtherThanAnObject_SaysSo(string json) =>
        Assert.Contains("not a JSON object", Refuse(json), StringComparison.Ordinal);

    [Theory]
    [InlineData("""{"ts":0,"price":1,"volume":1}""", "symbol")]
    [InlineData("""{"symbol":"AAPL","price":1,"volume":1}""", "ts")]
    [InlineData("""{"symbol":"AAPL","ts":0,"volume":1}""", "price")]
    [InlineData("""{"symbol":"AAPL","ts":0,"price":1}""", "volume")]
    public void TryParse_WithoutARequiredField_NamesIt(string json, string field) =>
        Assert.Equal($"missing field '{field}'", Refuse(json));

    [Theory]
    [InlineData("\"NaN\"")]
    [InlineData("\"Infinity\"")]
    [InlineData("\"-Infinity\"")]
    [InlineData("\"∞\"")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("\"-1\"")]
    [InlineData("\"0\"")]
    [InlineData("1e400")]
    [InlineData("\"1e400\"")]
    [InlineData("\"12abc\"")]
    [InlineData("\"\"")]
    [InlineData("\" 1\"")]
    [InlineData("true")]
    [InlineData("null")]
    [InlineData("[1]")]
    [InlineData("1e308")]
    [InlineData("1e16")]
    [InlineData("1e-16")]
    public void TryParse_WithBadPrice_NamesThePrice(string price) =>
        Assert.Contains("'price'", Refuse($$"""{"symbol":"AAPL","ts":0,"price":{{price}},"volume":1}"""), StringComparison.Ordinal);

    [Theory]
    [InlineData("\"NaN\"")]
    [InlineData("\"Infinity\"")]
    [InlineData("-0.5")]
    [InlineData("\"-0.5\"")]
    [InlineData("1e400")]
    [InlineData("null")]
    [InlineData("1e19")]
    [InlineData("1e-300")]
    public void TryParse_WithBadVolume_NamesTheVolume(string volume) =>
        Assert.Contains("'volume'", Refuse($$"""{"symbol":"AAPL","ts":0,"price":1,"volume":{{volume}}}"""), StringComparison.Ordinal);

    [Theory]
    [InlineData("1e308", "10", "field 'price' must be a number from 1e-15 to 1e15 (got 1E+308)")]
    [InlineData("1", "1e300", "field 'volume' must be 0 or a number from 1e-15 to 1e18 (got 1E+300)")]
    [InlineData("1e15", "1e7", "price × volume must be at most 1e21 (got 1E+22)")]
    public void TryParse_WithNumbersBeyondTheLimits_SaysWhichAndWhy(string price, string volume, string reason) =>
        Assert.Equal(reason, Refuse($$"""{"symbol":"AAPL","ts":0,"price":{{price}},"volume":{{volume}}}"""));

    [Fact]
    public void TryParse_WithTheLimitsThemselves_AcceptsThem()
    {
        Assert.True(new TickJson().TryParse("""{"symbol":"A","ts":0,"price":1e15,"volume":1e6}"""u8, out _, out var error), error);
        Assert.True(new TickJson().TryParse("""{"symbol":"A","ts":0,"price":1e-15,"volume":1e18}"""u8, out _, out error), error);
        Assert.True(new TickJson().TryParse("""{"symbol":"A","ts":0,"price":1e3,"volume":1e-15}"""u8, out _, out error), error);
    }

    [Theory]
    [InlineData("\"yesterday\"")]
    [InlineData("\"2026-01-02T14:30:00.123\"")]
    [InlineData("\"2026-01-02T14:30:00\"")]
    [InlineData("\"2026-01-02\"")]
    [InlineData("\"2026-13-02T14:30:00Z\"")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("\"-5\"")]
    [InlineData("253402300800000")]
    [InlineData("true")]
    [InlineData("null")]
    public void TryParse_WithBadTs_NamesTheTs(string ts) =>
        Assert.Contains("'ts'", Refuse($$"""{"symbol":"AAPL","ts":{{ts}},"price":1,"volume":1}"""), StringComparison.Ordinal);

    [Theory]
    [InlineData("\"bond\"")]
    [InlineData("\"\"")]
    [InlineData("1")]
    public void TryParse_WithUnknownAssetClass_NamesTheAssetClass(string assetClass) =>
        Assert.Contains("'asset_class'", Refuse($$"""{"symbol":"AAPL","ts":0,"price":1,"volume":1,"asset_class":{{assetClass}}}"""), StringComparison.Ordinal);

    [Theory]
    [InlineData("\"BTC USD\"")]
    [InlineData("\"BTC\\tUSD\"")]
    [InlineData("\"\"")]
    [InlineData("\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"")]
    [InlineData("null")]
    [InlineData("42")]
    public void TryParse_WithBadSymbol_NamesTheSymbol(string symbol) =>
        Assert.Contains("'symbol'", Refuse($$"""{"symbol":{{symbol}},"ts":0,"price":1,"volume":1}"""), StringComparison.Ordinal);

    [Theory]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("\"\"")]
    [InlineData("{}")]
    [InlineData("true")]
    public void TryParse_WithBadTradeId_NamesTheTradeId(string id) =>
        Assert.Contains("'trade_id'", Refuse($$"""{"symbol":"AAPL","ts":0,"price":1,"volume":1,"trade_id":{{id}}}"""), StringComparison.Ordinal);

    [Theory]
    [InlineData("\"co inbase\"")]
    [InlineData("\"\"")]
    [InlineData("7")]
    public void TryParse_WithBadExchange_NamesTheExchange(string exchange) =>
        Assert.Contains("'exchange'", Refuse($$"""{"symbol":"AAPL","ts":0,"price":1,"volume":1,"exchange":{{exchange}}}"""), StringComparison.Ordinal);

    [Fact]
    public void TryParse_AfterARefusal_ReadsTheNextLineCleanly()
    {
        var parser = new TickJson();
        Assert.False(parser.TryParse("""{"symbol":"AAPL","ts":0,"price":-1,"volume":1,"trade_id":5}"""u8, out _, out _));

        Assert.True(parser.TryParse("""{"symbol":"AAPL","ts":1,"price":1,"volume":1}"""u8, out var tick, out var error));
        Assert.Null(error);
        Assert.False(tick.TradeId.HasValue);
    }
}
