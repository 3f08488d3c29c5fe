using System.Text;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;

namespace Breadboard.Core.Tests.Codec;

public class TickStreamReaderTests
{
    private static string Json(string symbol, long ts, double price = 1) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $$"""{"symbol":"{{symbol}}","ts":{{ts}},"price":{{price}},"volume":1}""");

    private static MemoryStream Input(string text) => new(Encoding.UTF8.GetBytes(text));

    /// <summary>Everything a reader returns, as "tick SYMBOL@ts (line N)" or "reject N: reason".</summary>
    private static List<string> ReadAll(TickStreamReader reader)
    {
        var seen = new List<string>();
        while (true)
        {
            switch (reader.Read(out var tick))
            {
                case ReadStatus.Tick:
                    seen.Add($"tick {tick.Symbol}@{tick.Ts} (line {reader.Line})");
                    break;
                case ReadStatus.Rejected:
                    seen.Add($"reject {reader.LastReject!.Line}");
                    break;
                default:
                    return seen;
            }
        }
    }

    [Fact]
    public void Read_WithNdjson_ReadsEveryLineInOrder()
    {
        using var reader = new TickStreamReader(Input(Json("A", 1) + "\n" + Json("B", 2) + "\n"), TickFormat.Ndjson);

        Assert.Equal(["tick A@1 (line 1)", "tick B@2 (line 2)"], ReadAll(reader));
    }

    [Fact]
    public void Read_WithoutFinalNewline_ReadsTheLastLine()
    {
        using var reader = new TickStreamReader(Input(Json("A", 1) + "\n" + Json("B", 2)), TickFormat.Ndjson);

        Assert.Equal(["tick A@1 (line 1)", "tick B@2 (line 2)"], ReadAll(reader));
        Assert.Equal(ReadStatus.End, reader.Read(out _));
    }

    [Fact]
    public void Read_WithCrlfLineEnds_ReadsTheLines()
    {
        using var reader = new TickStreamReader(Input("symbol,ts,price,volume\r\nAAPL,1,2,3\r\nMSFT,4,5,6\r\n"), TickFormat.Csv);

        Assert.Equal(["tick AAPL@1 (line 2)", "tick MSFT@4 (line 3)"], ReadAll(reader));
    }

    [Fact]
    public void Read_WithCrlfInNdjson_ReadsTheLines()
    {
        using var reader = new TickStreamReader(Input(Json("A", 1) + "\r\n" + Json("B", 2) + "\r\n"), TickFormat.Ndjson);

        Assert.Equal(["tick A@1 (line 1)", "tick B@2 (line 2)"], ReadAll(reader));
    }

    [Theory]
    [InlineData(TickFormat.Ndjson)]
    [InlineData(TickFormat.Csv)]
    public void Read_WithByteOrderMark_SkipsIt(TickFormat format)
    {
        var text = format == TickFormat.Csv ? "symbol,ts,price,volume\nAAPL,1,2,3\n" : Json("AAPL", 1) + "\n";
        using var reader = new TickStreamReader(new MemoryStream([.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(text)]), format);

        Assert.Equal([$"tick AAPL@1 (line {(format == TickFormat.Csv ? 2 : 1)})"], ReadAll(reader));
    }

    [Fact]
    public void Read_WithBlankLines_SkipsThemButCountsThemInLineNumbers()
    {
        var text = "\n" + Json("A", 1) + "\n\n   \n\t\n" + "{oops\n" + "\r\n" + Json("B", 2) + "\n\n";
        using var reader = new TickStreamReader(Input(text), TickFormat.Ndjson);

        Assert.Equal(["tick A@1 (line 2)", "reject 6", "tick B@2 (line 8)"], ReadAll(reader));
    }

    [Fact]
    public void Read_WithBadLine_RejectsItAndGoesOn()
    {
        var text = Json("A", 1) + "\n" + """{"symbol":"B","ts":2,"price":-1,"volume":1}""" + "\n" + Json("C", 3) + "\n";
        using var reader = new TickStreamReader(Input(text), TickFormat.Ndjson);

        Assert.Equal(ReadStatus.Tick, reader.Read(out _));
        Assert.Equal(ReadStatus.Rejected, reader.Read(out _));
        var reject = reader.LastReject!;
        Assert.Equal(2, reject.Line);
        Assert.Contains("'price'", reject.Reason, StringComparison.Ordinal);
        Assert.Equal("""{"symbol":"B","ts":2,"price":-1,"volume":1}""", reject.Raw);
        Assert.Equal(ReadStatus.Tick, reader.Read(out var tick));
        Assert.Equal("C", tick.Symbol);
    }

    [Fact]
    public void Read_WithHugeBadLine_CutsTheRawTextAtOneKibibyte()
    {
        using var reader = new TickStreamReader(Input(new string('x', 5_000) + "\n"), TickFormat.Ndjson);

        Assert.Equal(ReadStatus.Rejected, reader.Read(out _));
        Assert.Equal(1024, reader.LastReject!.Raw.Length);
    }

    [Fact]
    public void Read_WithLineLongerThanOneMebibyte_RejectsItWithoutHoldingItAndGoesOn()
    {
        var padding = new string('p', 5 << 20);
        var text = Json("A", 1) + "\n" + $$"""{"symbol":"B","pad":"{{padding}}","ts":2,"price":1,"volume":1}""" + "\n" + Json("C", 3) + "\n";
        using var reader = new TickStreamReader(Input(text), TickFormat.Ndjson);

        Assert.Equal(ReadStatus.Tick, reader.Read(out _));
        Assert.Equal(ReadStatus.Rejected, reader.Read(out _));
        Assert.Equal(new Reject(2, "the line is longer than 1,048,576 bytes", "{\"symbol\":\"B\",\"pad\":\"" + new string('p', 1024 - 21)), reader.LastReject);
        Assert.Equal(["tick C@3 (line 3)"], ReadAll(reader));
        Assert.Equal(Encoding.UTF8.GetByteCount(text), reader.Position);
    }

    [Fact]
    public void Read_WithEndlessLineAtTheEnd_RejectsItOnce()
    {
        var text = Json("A", 1) + "\n" + new string('x', 3 << 20);
        using var reader = new TickStreamReader(Input(text), TickFormat.Ndjson);

        Assert.Equal(["tick A@1 (line 1)", "reject 2"], ReadAll(reader));
        Assert.Equal(text.Length, reader.Position);
    }

    [Fact]
    public void Read_WithInputSpanningSeveralBuffers_LosesNoLineAtTheSeams()
    {
        var sb = new StringBuilder();
        for (var i = 0; i < 40_000; i++)
        {
            sb.Append(Json(i % 2 == 0 ? "AAPL" : "MSFT", i)).Append(i % 3 == 0 ? "\r\n" : "\n");
        }

        using var reader = new TickStreamReader(Input(sb.ToString()), TickFormat.Ndjson);

        var expected = 0L;
        while (reader.Read(out var tick) == ReadStatus.Tick)
        {
            Assert.Equal(expected++, tick.Ts);
            Assert.Equal(expected, reader.Line);
        }

        Assert.Equal(40_000, expected);
        Assert.Equal(Encoding.UTF8.GetByteCount(sb.ToString()), reader.Position);
    }

    [Fact]
    public void Position_AfterEachLine_IsTheOffsetJustPastIt()
    {
        var first = Json("A", 1) + "\n";
        var second = Json("B", 2) + "\r\n";
        using var reader = new TickStreamReader(Input(first + second), TickFormat.Ndjson);

        reader.Read(out _);
        Assert.Equal((first.Length, 1L), (reader.Position, reader.Line));
        reader.Read(out _);
        Assert.Equal((first.Length + second.Length, 2L), (reader.Position, reader.Line));
    }

    [Fact]
    public void Position_WithNdjson_LetsANewReaderResumeAtTheNextLine()
    {
        var text = Json("A", 1) + "\n\n" + Json("B", 2) + "\n" + "bad\n" + Json("C", 3) + "\n";
        using var input = Input(text);
        long position, line;
        using (var first = new TickStreamReader(input, TickFormat.Ndjson))
        {
            first.Read(out _);
            first.Read(out _);
            (position, line) = (first.Position, first.Line);
        }

        using var resumed = new TickStreamReader(input, TickFormat.Ndjson, position, line);

        Assert.Equal(["reject 4", "tick C@3 (line 5)"], ReadAll(resumed));
    }

    private const string Csv = "ts,volume,price,symbol\nA-1,1,1,AAPL\n1,1,1,AAPL\n2,1,1,MSFT\n3,1,1,IBM\n";

    private static (long Position, long Line) ReadTwoCsvLines()
    {
        using var first = new TickStreamReader(Input(Csv), TickFormat.Csv);
        Assert.Equal(ReadStatus.Rejected, first.Read(out _));
        Assert.Equal(ReadStatus.Tick, first.Read(out _));
        return (first.Position, first.Line);
    }

    [Fact]
    public void Position_WithCsv_LetsANewReaderResumeAfterReReadingTheHeader()
    {
        var (position, line) = ReadTwoCsvLines();

        using var resumed = new TickStreamReader(Input(Csv), TickFormat.Csv, position, line);

        Assert.Equal(["tick MSFT@2 (line 4)", "tick IBM@3 (line 5)"], ReadAll(resumed));
    }

    [Fact]
    public void Position_WithCsvStreamAlreadyAtTheResumePoint_StillReadsTheHeaderFromTheStart()
    {
        var (position, line) = ReadTwoCsvLines();
        using var input = Input(Csv);
        input.Seek(position, SeekOrigin.Begin); // as a caller resuming a file might well do first

        using var resumed = new TickStreamReader(input, TickFormat.Csv, position, line);

        Assert.Equal(["tick MSFT@2 (line 4)", "tick IBM@3 (line 5)"], ReadAll(resumed));
    }

    [Fact]
    public void Position_AtTheEnd_LetsANewReaderFindNothingMore()
    {
        var text = Json("A", 1) + "\n";
        using var input = Input(text);
        using var first = new TickStreamReader(input, TickFormat.Ndjson);
        ReadAll(first);

        using var resumed = new TickStreamReader(input, TickFormat.Ndjson, first.Position, first.Line);

        Assert.Empty(ReadAll(resumed));
    }

    [Fact]
    public void Read_WithCsvHeaderMissingAColumn_ThrowsNamingTheLine()
    {
        using var reader = new TickStreamReader(Input("\nsymbol,ts,volume\nAAPL,1,1\n"), TickFormat.Csv);

        var e = Assert.Throws<InvalidDataException>(() => reader.Read(out _));
        Assert.Contains("line 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("'price'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_WithEmptyInput_EndsAtOnce()
    {
        using var reader = new TickStreamReader(Input(""), TickFormat.Csv);

        Assert.Equal(ReadStatus.End, reader.Read(out _));
        Assert.Equal(0, reader.Line);
    }

    [Fact]
    public void Read_WithSlowStream_ReadsLinesSplitAcrossReads()
    {
        var text = Json("A", 1) + "\n" + Json("B", 2) + "\n";
        using var reader = new TickStreamReader(new TrickleStream(Encoding.UTF8.GetBytes(text), 3), TickFormat.Ndjson);

        Assert.Equal(["tick A@1 (line 1)", "tick B@2 (line 2)"], ReadAll(reader));
    }

    [Fact]
    public void Symbols_AfterReading_InternsEachSymbolOnce()
    {
        using var reader = new TickStreamReader(Input(Json("A", 1) + "\n" + Json("A", 2) + "\n"), TickFormat.Ndjson);
        reader.Read(out var first);
        reader.Read(out var second);

        Assert.Same(first.Symbol, second.Symbol);
        Assert.Equal(1, reader.Symbols.Count);
    }

    [Theory]
    [InlineData("ticks.csv", TickFormat.Csv)]
    [InlineData("ticks.CSV.gz", TickFormat.Csv)]
    [InlineData("ticks.ndjson", TickFormat.Ndjson)]
    [InlineData("ticks.jsonl.gz", TickFormat.Ndjson)]
    [InlineData("ticks", TickFormat.Ndjson)]
    public void FormatOf_WithFileName_PicksTheFormat(string path, TickFormat expected) =>
        Assert.Equal(expected, TickStreamReader.FormatOf(path));

    /// <summary>A stream that hands out at most a few bytes per read, as a network stream may.</summary>
    private sealed class TrickleStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, chunk)]);
    }
}
