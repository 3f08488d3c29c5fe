using System.Globalization;
using System.Text;
using System.Text.Json;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using Breadboard.Feeds.Synthetic;
using CsCheck;

namespace Breadboard.Feeds.Tests;

public class TickFileWriterTests
{
    private const long Ts = 1_767_364_200_123; // 2026-01-02T14:30:00.123Z

    private static readonly Tick Full = new("BTC-USD", Ts, 43125.5, 0.25, TradeId.FromNumber(9), "coinbase", AssetClass.Crypto);
    private static readonly Tick Bare = new("AAPL", Ts, 190.12, 100, TradeId.None, null, AssetClass.Stock);

    private static string Ndjson(params Tick[] ticks)
    {
        using var stream = new MemoryStream();
        TickFileWriter.WriteNdjson(stream, ticks);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static string Csv(params Tick[] ticks)
    {
        using var stream = new MemoryStream();
        TickFileWriter.WriteCsv(stream, ticks);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    [Fact]
    public void WriteNdjson_TickWithEveryField_WritesTheSpecifiedLine() =>
        Assert.Equal(
            """{"symbol":"BTC-USD","ts":"2026-01-02T14:30:00.123Z","price":43125.5,"volume":0.25,"trade_id":"9","exchange":"coinbase","asset_class":"crypto"}""" + "\n",
            Ndjson(Full));

    [Fact]
    public void WriteNdjson_TickWithoutTradeIdOrExchange_LeavesThemOut() =>
        Assert.Equal(
            """{"symbol":"AAPL","ts":"2026-01-02T14:30:00.123Z","price":190.12,"volume":100,"asset_class":"stock"}""" + "\n",
            Ndjson(Bare));

    [Fact]
    public void WriteNdjson_TextTradeId_IsWrittenAsItsText() =>
        Assert.Contains("\"trade_id\":\"0042-a\"", Ndjson(Full with { TradeId = TradeId.FromText("0042-a") }), StringComparison.Ordinal);

    [Fact]
    public void WriteCsv_Ticks_WritesHeaderThenOneRowEach() =>
        Assert.Equal(
            "symbol,ts,price,volume,trade_id,exchange,asset_class\n"
            + "BTC-USD,2026-01-02T14:30:00.123Z,43125.5,0.25,9,coinbase,crypto\n"
            + "AAPL,2026-01-02T14:30:00.123Z,190.12,100,,,stock\n",
            Csv(Full, Bare));

    [Fact]
    public void WriteCsv_NoTicks_WritesTheHeaderOnly() =>
        Assert.Equal(TickFileWriter.CsvHeader + "\n", Csv());

    [Fact]
    public void WriteNdjson_SymbolNeedingEscapes_WritesValidJsonOfTheSameText()
    {
        var symbol = "A\"B\\C\n\u0001é€😀";

        var line = Ndjson(Full with { Symbol = symbol, Exchange = "tab\there" });

        using var json = JsonDocument.Parse(line);
        Assert.Equal(symbol, json.RootElement.GetProperty("symbol").GetString());
        Assert.Equal("tab\there", json.RootElement.GetProperty("exchange").GetString());
        Assert.Contains("A\\\"B\\\\C\\n\\u0001é€😀", line, StringComparison.Ordinal);
    }

    [Fact]
    public void WriteCsv_FieldWithCommaOrQuote_IsQuotedWithDoubledQuotes() =>
        Assert.Equal(
            "\"X,\"\"Y\"\"\",2026-01-02T14:30:00.123Z,43125.5,0.25,9,\"a\nb\",crypto\n",
            Csv(Full with { Symbol = "X,\"Y\"", Exchange = "a\nb" }).Split('\n', 2)[1]);

    [Fact]
    public void WriteNdjson_SymbolLongerThanTheBuffer_IsWrittenWhole()
    {
        var symbol = new string('S', 100_000);

        using var json = JsonDocument.Parse(Ndjson(Bare, Bare with { Symbol = symbol }, Bare).Split('\n')[1]);

        Assert.Equal(symbol, json.RootElement.GetProperty("symbol").GetString());
    }

    [Fact]
    public void WriteNdjson_NonFinitePrice_Throws()
    {
        using var stream = new MemoryStream();

        Assert.Throws<ArgumentException>(() => TickFileWriter.WriteNdjson(stream, [Full with { Price = double.NaN }]));
        Assert.Throws<ArgumentException>(() => TickFileWriter.WriteCsv(stream, [Full with { Volume = double.PositiveInfinity }]));
    }

    [Fact]
    public void WriteNdjsonAndCsv_AnyFiniteDoubles_ParseBackExactly()
    {
        var finite = Gen.Double.Where(double.IsFinite);
        Gen.Select(finite, finite).Sample((price, volume) =>
        {
            var tick = Full with { Price = price, Volume = volume };

            using var json = JsonDocument.Parse(Ndjson(tick));
            var root = json.RootElement;
            Assert.Equal(price, double.Parse(root.GetProperty("price").GetRawText(), CultureInfo.InvariantCulture));
            Assert.Equal(volume, double.Parse(root.GetProperty("volume").GetRawText(), CultureInfo.InvariantCulture));

            var cells = Csv(tick).Split('\n')[1].Split(',');
            Assert.Equal(price, double.Parse(cells[2], CultureInfo.InvariantCulture));
            Assert.Equal(volume, double.Parse(cells[3], CultureInfo.InvariantCulture));
        }, iter: 2_000);
    }

    [Fact]
    public void WriteNdjson_ManyGeneratedTicks_WritesOneParsableLineEach()
    {
        var options = SyntheticFeedOptions.ForBenchmark(50);
        var ticks = new SyntheticFeed(options).Generate(50_000).ToList();
        using var stream = new MemoryStream();

        var written = TickFileWriter.WriteNdjson(stream, ticks);

        Assert.Equal(ticks.Count, written);
        var lines = Encoding.UTF8.GetString(stream.ToArray()).Split('\n');
        Assert.Equal(ticks.Count + 1, lines.Length);
        Assert.Equal("", lines[^1]);
        for (var i = 0; i < ticks.Count; i += 997)
        {
            using var json = JsonDocument.Parse(lines[i]);
            var root = json.RootElement;
            Assert.Equal(ticks[i].Symbol, root.GetProperty("symbol").GetString());
            Assert.Equal(EventTime.ToIso(ticks[i].Ts), root.GetProperty("ts").GetString());
            Assert.Equal(ticks[i].Price, root.GetProperty("price").GetDouble());
            Assert.Equal(ticks[i].Volume, root.GetProperty("volume").GetDouble());
            Assert.Equal(ticks[i].TradeId.ToString(), root.GetProperty("trade_id").GetString());
            Assert.Equal(AssetClasses.Name(ticks[i].AssetClass), root.GetProperty("asset_class").GetString());
        }
    }

    [Theory]
    [InlineData(TickFormat.Ndjson)]
    [InlineData(TickFormat.Csv)]
    public void WrittenFile_ReadBackByTheCoreReader_GivesTheSameTicks(TickFormat format)
    {
        var ticks = new SyntheticFeed(SyntheticFeedOptions.ForBenchmark(50)).Generate(20_000).ToList();
        ticks.Add(Bare);
        using var stream = new MemoryStream();
        if (format == TickFormat.Csv)
        {
            TickFileWriter.WriteCsv(stream, ticks);
        }
        else
        {
            TickFileWriter.WriteNdjson(stream, ticks);
        }

        stream.Position = 0;
        using var reader = new TickStreamReader(stream, format);
        var read = new List<Tick>();
        ReadStatus status;
        while ((status = reader.Read(out var tick)) != ReadStatus.End)
        {
            Assert.True(status == ReadStatus.Tick, reader.LastReject?.ToString());
            read.Add(tick);
        }

        Assert.Equal(ticks, read);
    }
}
