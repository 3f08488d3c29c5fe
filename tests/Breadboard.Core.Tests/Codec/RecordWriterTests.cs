using System.Text;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;

namespace Breadboard.Core.Tests.Codec;

public class RecordWriterTests
{
    private const long Start = 1_767_364_200_000; // 2026-01-02T14:30:00Z

    private static readonly Bar SampleBar = new("BTC-USD", "1m", Start, Start + 60_000, 1, 2, 0.5, 1.5, 3, 1.25, 4);

    private static readonly Alert SampleAlert = new(
        "price_drop:BTC-USD:5m:1767364200000", "price_drop", "BTC-USD", "5m", Start, Start + 300_000, -5.5, -5, Start + 300_000);

    private static string Written(Action<RecordWriter> write, RecordFormat format = RecordFormat.Ndjson, IReadOnlyList<Aggregate>? aggregates = null)
    {
        using var stream = new MemoryStream();
        using (var writer = new RecordWriter(stream, format, aggregates))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    [Fact]
    public void Write_WithBar_WritesOneNdjsonLine()
    {
        var text = Written(w => w.Write(SampleBar));

        Assert.Equal(
            """{"symbol":"BTC-USD","window":"1m","window_start":"2026-01-02T14:30:00.000Z","window_end":"2026-01-02T14:31:00.000Z","open":1,"high":2,"low":0.5,"close":1.5,"volume":3,"vwap":1.25,"trades":4}""" + "\n",
            text);
    }

    [Fact]
    public void Write_WithBarWithoutVwap_WritesNull()
    {
        var text = Written(w => w.Write(SampleBar with { Volume = 0, Vwap = null }));

        Assert.Contains("\"volume\":0,\"vwap\":null,\"trades\":4}", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_WithBarOfAwkwardDoubles_WritesThemRoundTrippable()
    {
        var bar = SampleBar with { Open = 0.1 + 0.2, High = 1e21, Low = 5e-324, Close = 43125.123456789012 };
        var text = Written(w => w.Write(bar));

        using var doc = System.Text.Json.JsonDocument.Parse(text);
        Assert.Equal(bar.Open, doc.RootElement.GetProperty("open").GetDouble());
        Assert.Equal(bar.High, doc.RootElement.GetProperty("high").GetDouble());
        Assert.Equal(bar.Low, doc.RootElement.GetProperty("low").GetDouble());
        Assert.Equal(bar.Close, doc.RootElement.GetProperty("close").GetDouble());
    }

    [Fact]
    public void Write_WithAlert_WritesOneNdjsonLine()
    {
        var text = Written(w => w.Write(SampleAlert));

        Assert.Equal(
            """{"id":"price_drop:BTC-USD:5m:1767364200000","rule":"price_drop","symbol":"BTC-USD","window":"5m","window_start":"2026-01-02T14:30:00.000Z","window_end":"2026-01-02T14:35:00.000Z","value":-5.5,"threshold":-5,"ts":"2026-01-02T14:35:00.000Z"}""" + "\n",
            text);
    }

    [Fact]
    public void Write_WithSymbolNeedingEscapes_WritesValidJsonAndKeepsItReadable()
    {
        var text = Written(w => w.Write(SampleBar with { Symbol = "Ä\"B\\C" }));

        Assert.StartsWith("""{"symbol":"Ä\"B\\C",""", text, StringComparison.Ordinal);
        using var doc = System.Text.Json.JsonDocument.Parse(text);
        Assert.Equal("Ä\"B\\C", doc.RootElement.GetProperty("symbol").GetString());
    }

    [Fact]
    public void Write_WithTwoBarsAsCsv_WritesTheHeaderOnce()
    {
        var text = Written(
            w =>
            {
                w.Write(SampleBar);
                w.Write(SampleBar with { Symbol = "AAPL", Vwap = null, Volume = 0 });
            },
            RecordFormat.Csv);

        Assert.Equal(
            "symbol,window,window_start,window_end,open,high,low,close,volume,vwap,trades\n"
            + "BTC-USD,1m,2026-01-02T14:30:00.000Z,2026-01-02T14:31:00.000Z,1,2,0.5,1.5,3,1.25,4\n"
            + "AAPL,1m,2026-01-02T14:30:00.000Z,2026-01-02T14:31:00.000Z,1,2,0.5,1.5,0,,4\n",
            text);
    }

    [Fact]
    public void Write_WithAlertsAsCsv_WritesTheHeaderOnce()
    {
        var text = Written(
            w =>
            {
                w.Write(SampleAlert);
                w.Write(SampleAlert with { Value = 0.1 + 0.2, Pipeline = "0123456789abcdef" });
            },
            RecordFormat.Csv);

        Assert.Equal(
            "id,rule,symbol,window,window_start,window_end,value,threshold,ts,pipeline\n"
            + "price_drop:BTC-USD:5m:1767364200000,price_drop,BTC-USD,5m,2026-01-02T14:30:00.000Z,2026-01-02T14:35:00.000Z,-5.5,-5,2026-01-02T14:35:00.000Z,\n"
            + "price_drop:BTC-USD:5m:1767364200000,price_drop,BTC-USD,5m,2026-01-02T14:30:00.000Z,2026-01-02T14:35:00.000Z,0.30000000000000004,-5,2026-01-02T14:35:00.000Z,0123456789abcdef\n",
            text);
    }

    [Fact]
    public void Write_WithCsvCellHoldingCommaOrQuote_QuotesIt()
    {
        var text = Written(w => w.Write(SampleBar with { Symbol = "A,\"B\"" }), RecordFormat.Csv);

        Assert.StartsWith("\"A,\"\"B\"\"\",1m,", text.Split('\n')[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Write_WithAggregatesSubset_OmitsTheOtherColumnsInDefinitionOrder()
    {
        Aggregate[] subset = [Aggregate.Trades, Aggregate.Close, Aggregate.Open];

        var json = Written(w => w.Write(SampleBar), aggregates: subset);
        var csv = Written(w => w.Write(SampleBar), RecordFormat.Csv, subset);

        Assert.Equal(
            """{"symbol":"BTC-USD","window":"1m","window_start":"2026-01-02T14:30:00.000Z","window_end":"2026-01-02T14:31:00.000Z","open":1,"close":1.5,"trades":4}""" + "\n",
            json);
        Assert.Equal(
            "symbol,window,window_start,window_end,open,close,trades\nBTC-USD,1m,2026-01-02T14:30:00.000Z,2026-01-02T14:31:00.000Z,1,1.5,4\n",
            csv);
    }

    [Fact]
    public void Write_WithNoAggregates_WritesOnlyTheKeys()
    {
        var csv = Written(w => w.Write(SampleBar), RecordFormat.Csv, []);

        Assert.Equal("symbol,window,window_start,window_end\nBTC-USD,1m,2026-01-02T14:30:00.000Z,2026-01-02T14:31:00.000Z\n", csv);
    }

    [Fact]
    public void Write_WithLateTick_WritesCanonicalTickThatTickJsonReadsBack()
    {
        var tick = new Tick("BTC-USD", Start + 123, 43125.5, 0.25, TradeId.FromText("t-9"), "coinbase", AssetClass.Crypto);
        var text = Written(w => w.Write(in tick, Start + 5_000));

        Assert.Equal(
            """{"symbol":"BTC-USD","ts":"2026-01-02T14:30:00.123Z","price":43125.5,"volume":0.25,"trade_id":"t-9","exchange":"coinbase","asset_class":"crypto","watermark":"2026-01-02T14:30:05.000Z"}""" + "\n",
            text);
        Assert.True(new TickJson().TryParse(Encoding.UTF8.GetBytes(text.TrimEnd('\n')), out var back, out var error), error);
        Assert.Equal(tick, back);
    }

    [Theory]
    [InlineData(9)]
    [InlineData(1_234_567_890_123_456_789)]
    public void Write_WithNumericTradeId_ReadsBackAsTheSameId(long id)
    {
        var tick = new Tick("AAPL", Start, 1, 2, TradeId.FromNumber(id), null, AssetClass.Stock);
        var text = Written(w => w.Write(in tick));

        Assert.True(new TickJson().TryParse(Encoding.UTF8.GetBytes(text.TrimEnd('\n')), out var back, out var error), error);
        Assert.Equal(tick.TradeId, back.TradeId);
    }

    [Fact]
    public void Write_WithTickWithoutOptionalFields_OmitsThem()
    {
        var tick = new Tick("AAPL", Start, 1, 2, TradeId.None, null, AssetClass.Stock);

        Assert.Equal(
            """{"symbol":"AAPL","ts":"2026-01-02T14:30:00.000Z","price":1,"volume":2,"asset_class":"stock"}""" + "\n",
            Written(w => w.Write(in tick)));
    }

    [Fact]
    public void Write_WithReject_WritesLineReasonAndInput()
    {
        var text = Written(w => w.Write(new Reject(7, "field 'price' must be a finite number greater than 0", """{"price":-1}""")));

        Assert.Equal(
            """{"line":7,"reason":"field 'price' must be a finite number greater than 0","input":"{\"price\":-1}"}""" + "\n",
            text);
    }

    [Fact]
    public void BytesWritten_AfterFlush_EqualsTheStreamLength()
    {
        using var stream = new MemoryStream();
        using var writer = new RecordWriter(stream);
        for (var i = 0; i < 2_000; i++)
        {
            writer.Write(SampleBar with { Trades = i });
            writer.Write(SampleAlert);
        }

        writer.Flush();

        Assert.Equal(stream.Length, writer.BytesWritten);
        Assert.Equal(4_000, writer.Records);
    }

    [Fact]
    public void BytesWritten_BeforeFlush_CountsOnlyWhatReachedTheStream()
    {
        using var stream = new MemoryStream();
        using var writer = new RecordWriter(stream);
        writer.Write(SampleBar);

        Assert.Equal(stream.Length, writer.BytesWritten);
        writer.Flush();
        Assert.True(writer.BytesWritten > 0);
        Assert.Equal(stream.Length, writer.BytesWritten);
    }

    [Fact]
    public void BytesWritten_WithStartLength_CountsOnFromItAndSkipsTheCsvHeader()
    {
        using var stream = new MemoryStream();
        var existing = "symbol,window,window_start,window_end,open,high,low,close,volume,vwap,trades\n"u8.ToArray();
        stream.Write(existing);
        using var writer = new RecordWriter(stream, RecordFormat.Csv, startLength: existing.Length);

        writer.Write(SampleBar);
        writer.Flush();

        Assert.Equal(stream.Length, writer.BytesWritten);
        Assert.Equal(2, Encoding.UTF8.GetString(stream.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }
}
