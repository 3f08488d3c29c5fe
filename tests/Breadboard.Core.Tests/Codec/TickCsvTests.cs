using System.Text;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;

namespace Breadboard.Core.Tests.Codec;

public class TickCsvTests
{
    private static TickCsv Header(string header)
    {
        Assert.True(TickCsv.TryCreate(Encoding.UTF8.GetBytes(header), out var parser, out var error), error);
        return parser!;
    }

    private static Tick Parse(string header, string row)
    {
        Assert.True(Header(header).TryParse(Encoding.UTF8.GetBytes(row), out var tick, out var error), error);
        Assert.Null(error);
        return tick;
    }

    private static string Refuse(string header, string row)
    {
        Assert.False(Header(header).TryParse(Encoding.UTF8.GetBytes(row), out _, out var error), $"accepted: {row}");
        Assert.False(string.IsNullOrWhiteSpace(error));
        return error!;
    }

    private const string Full = "symbol,ts,price,volume,trade_id,exchange,asset_class";

    [Fact]
    public void TryParse_WithEveryColumn_ReadsEveryField()
    {
        var tick = Parse(Full, "BTC-USD,2026-01-02T14:30:00.123Z,43125.5,0.25,9,coinbase,crypto");

        Assert.Equal(
            new Tick("BTC-USD", 1_767_364_200_123, 43125.5, 0.25, TradeId.FromNumber(9), "coinbase", AssetClass.Crypto),
            tick);
    }

    [Fact]
    public void TryParse_WithColumnsInAnyOrder_FollowsTheHeader()
    {
        var tick = Parse("volume,exchange,price,symbol,ts", "3,nyse,2.5,AAPL,1767364200000");

        Assert.Equal(("AAPL", 1_767_364_200_000L, 2.5, 3.0, "nyse"), (tick.Symbol, tick.Ts, tick.Price, tick.Volume, tick.Exchange));
        Assert.Equal(AssetClass.Stock, tick.AssetClass);
    }

    [Fact]
    public void TryParse_WithUnknownColumns_IgnoresThem()
    {
        var tick = Parse("seq,symbol,note,ts,price,volume", "17,AAPL,whatever you like,0,2,3");

        Assert.Equal(("AAPL", 2.0), (tick.Symbol, tick.Price));
    }

    [Fact]
    public void TryCreate_WithHeaderInOtherCaseQuotedAndSpaced_FindsTheColumns()
    {
        var tick = Parse("\"Symbol\", TS ,\"price\",Volume", "AAPL,0,2,3");

        Assert.Equal(("AAPL", 2.0, 3.0), (tick.Symbol, tick.Price, tick.Volume));
    }

    [Fact]
    public void TryParse_WithQuotedCells_UnquotesThem()
    {
        var tick = Parse(Full, "\"BTC-USD\",\"2026-01-02T14:30:00Z\",\"43125.5\",\"1\",\"t-1\",\"coin,base\",\"crypto\"");

        Assert.Equal(("BTC-USD", 43125.5, "coin,base"), (tick.Symbol, tick.Price, tick.Exchange));
        Assert.Equal(TradeId.FromText("t-1"), tick.TradeId);
    }

    [Fact]
    public void TryParse_WithEmptyOptionalCells_LeavesThemAbsent()
    {
        var tick = Parse(Full, "BTC-USD,0,1,1,,,");

        Assert.False(tick.TradeId.HasValue);
        Assert.Null(tick.Exchange);
        Assert.Equal(AssetClass.Crypto, tick.AssetClass);
    }

    [Fact]
    public void TryParse_WithTextTradeIdNine_EqualsNumberNine() =>
        Assert.Equal(TradeId.FromNumber(9), Parse(Full, "AAPL,0,1,1,\"9\",,").TradeId);

    [Theory]
    [InlineData("symbol,ts,price", "volume")]
    [InlineData("symbol,ts,volume", "price")]
    [InlineData("symbol,price,volume", "ts")]
    [InlineData("ts,price,volume,trade_id", "symbol")]
    [InlineData("", "symbol")]
    public void TryCreate_WithoutARequiredColumn_NamesIt(string header, string missing)
    {
        Assert.False(TickCsv.TryCreate(Encoding.UTF8.GetBytes(header), out var parser, out var error));
        Assert.Null(parser);
        Assert.Contains($"'{missing}'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryCreate_WithAColumnNamedTwice_SaysSo()
    {
        Assert.False(TickCsv.TryCreate("symbol,ts,price,volume,price"u8, out _, out var error));
        Assert.Contains("'price'", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AAPL,0,1")]
    [InlineData("AAPL,0,1,1,1")]
    [InlineData("AAPL,\"0,1\",1")]
    public void TryParse_WithWrongColumnCount_SaysHowManyWereExpected(string row) =>
        Assert.Contains("expected 4 columns", Refuse("symbol,ts,price,volume", row), StringComparison.Ordinal);

    [Fact]
    public void TryParse_WithUnclosedQuote_RefusesTheRow() =>
        Assert.Contains("quote", Refuse("symbol,ts,price,volume", "\"AAPL,0,1,1"), StringComparison.Ordinal);

    [Theory]
    [InlineData(",0,1,1", "missing field 'symbol'")]
    [InlineData("\"\",0,1,1", "missing field 'symbol'")]
    [InlineData("BTC USD,0,1,1", "'symbol'")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,0,1,1", "'symbol'")]
    [InlineData("AAPL,,1,1", "missing field 'ts'")]
    [InlineData("AAPL,yesterday,1,1", "'ts'")]
    [InlineData("AAPL,2026-01-02T14:30:00,1,1", "'ts'")]
    [InlineData("AAPL,-1,1,1", "'ts'")]
    [InlineData("AAPL,0,,1", "missing field 'price'")]
    [InlineData("AAPL,0,0,1", "'price'")]
    [InlineData("AAPL,0,-2,1", "'price'")]
    [InlineData("AAPL,0,NaN,1", "'price'")]
    [InlineData("AAPL,0,Infinity,1", "'price'")]
    [InlineData("AAPL,0,1e400,1", "'price'")]
    [InlineData("AAPL,0,1.2.3,1", "'price'")]
    [InlineData("AAPL,0,1,", "missing field 'volume'")]
    [InlineData("AAPL,0,1,-0.5", "'volume'")]
    [InlineData("AAPL,0,1,NaN", "'volume'")]
    [InlineData("AAPL,0,1,abc", "'volume'")]
    public void TryParse_WithBadRequiredField_NamesIt(string row, string expected) =>
        Assert.Contains(expected, Refuse("symbol,ts,price,volume", row), StringComparison.Ordinal);

    [Theory]
    [InlineData("AAPL,0,1e308,10", "field 'price' must be a number from 1e-15 to 1e15 (got 1E+308)")]
    [InlineData("AAPL,0,1,1e19", "field 'volume' must be 0 or a number from 1e-15 to 1e18 (got 1E+19)")]
    [InlineData("AAPL,0,1e15,1e7", "price × volume must be at most 1e21 (got 1E+22)")]
    public void TryParse_WithNumbersBeyondTheLimits_SaysWhichAndWhy(string row, string expected) =>
        Assert.Equal(expected, Refuse("symbol,ts,price,volume", row));

    [Theory]
    [InlineData("AAPL,0,1,1,,,bond", "'asset_class'")]
    [InlineData("AAPL,0,1,1,,co inbase,", "'exchange'")]
    public void TryParse_WithBadOptionalField_NamesIt(string row, string expected) =>
        Assert.Contains(expected, Refuse(Full, row), StringComparison.Ordinal);
}
