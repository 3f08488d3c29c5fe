using Breadboard.Batch.Providers;
using Breadboard.Core.Model;

namespace Breadboard.Batch.Tests.Providers;

public sealed class FileHistoricalProviderTests : IDisposable
{
    private const long T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    private readonly string _dir = Directory.CreateTempSubdirectory("breadboard-file-provider-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static Task<List<Bar>> FetchAsync(string path, string symbol, long from = T0, long to = T0 + 3_600_000) =>
        new FileHistoricalProvider(path).FetchAsync(symbol, from, to, BarInterval.OneMinute, TestContext.Current.CancellationToken).ToListAsync();

    [Fact]
    public async Task Csv_WithIsoAndEpochTimes_ReturnsTheSymbolsRowsInRangeSortedByStart()
    {
        var path = Write("bars.csv", $"""
            symbol,ts,open,high,low,close,volume,vwap,trades
            AAPL,{T0 + 120_000},101,102,100,101.5,300,101.2,7
            AAPL,2026-01-01T00:01:00Z,100,101,99,100.5,200,,
            MSFT,{T0},400,401,399,400.5,10,400.1,1
            AAPL,2026-01-01T01:00:00.000+00:00,1,1,1,1,1,1,1
            "AAPL",2025-12-31T19:00:00-05:00,99,100,98,99.5,100,99.2,3

            """);

        var bars = await FetchAsync(path, "AAPL");

        Assert.Equal(
            [
                new Bar("AAPL", "1m", T0, T0 + 60_000, 99, 100, 98, 99.5, 100, 99.2, 3),
                new Bar("AAPL", "1m", T0 + 60_000, T0 + 120_000, 100, 101, 99, 100.5, 200, null, 0),
                new Bar("AAPL", "1m", T0 + 120_000, T0 + 180_000, 101, 102, 100, 101.5, 300, 101.2, 7),
            ],
            bars);
    }

    [Fact]
    public async Task Csv_HeaderInAnyOrderWithTimeAlias_IsRead()
    {
        var path = Write("bars.CSV", $"Close,Volume,Open,High,Low,Timestamp,Symbol\n1.5,10,1,2,0.5,{T0},BTC-USD\n");

        var bar = Assert.Single(await FetchAsync(path, "BTC-USD"));

        Assert.Equal(new Bar("BTC-USD", "1m", T0, T0 + 60_000, 1, 2, 0.5, 1.5, 10, null, 0), bar);
    }

    [Fact]
    public async Task Ndjson_WithNumbersStringsAndWindowStart_ReturnsBars()
    {
        var path = Write("bars.ndjson", $$"""
            {"symbol":"BTC-USD","window_start":{{T0 + 60_000}},"open":"2","high":"3","low":"1","close":"2.5","volume":4,"vwap":2.2,"trades":9}
            {"symbol":"BTC-USD","time":"2026-01-01T00:00:00Z","open":1,"high":2,"low":0.5,"close":1.5,"volume":0,"vwap":null}
            {"symbol":"ETH-USD","ts":{{T0}},"open":1,"high":1,"low":1,"close":1,"volume":1}
            """);

        var bars = await FetchAsync(path, "BTC-USD");

        Assert.Equal(
            [
                new Bar("BTC-USD", "1m", T0, T0 + 60_000, 1, 2, 0.5, 1.5, 0, null, 0),
                new Bar("BTC-USD", "1m", T0 + 60_000, T0 + 120_000, 2, 3, 1, 2.5, 4, 2.2, 9),
            ],
            bars);
    }

    [Fact]
    public async Task Fetch_DuplicatesAndBadOhlc_AreReturnedAsWritten()
    {
        var path = Write("bars.csv", $"symbol,ts,open,high,low,close,volume\nAAPL,{T0},1,0.5,2,1,-3\nAAPL,{T0},1,1,1,1,1\n");

        var bars = await FetchAsync(path, "AAPL");

        Assert.Equal(2, bars.Count);
        Assert.Equal(0.5, bars[0].High);
        Assert.Equal(-3, bars[0].Volume);
        Assert.Equal(1, bars[1].High);
    }

    [Fact]
    public async Task Csv_BadNumber_ThrowsNamingFileAndLine()
    {
        var path = Write("bars.csv", $"symbol,ts,open,high,low,close,volume\nAAPL,{T0},1,1,1,1,1\nMSFT,{T0},1,abc,1,1,1\n");

        var e = await Assert.ThrowsAsync<HistoricalProviderException>(() => FetchAsync(path, "AAPL"));

        Assert.Equal($"file {path}:3: bad high 'abc': expected a finite number", e.Message);
    }

    [Theory]
    [InlineData("AAPL,2026-01-01T00:00:00,1,1,1,1,1", "bad time '2026-01-01T00:00:00': expected epoch milliseconds or ISO-8601 with a zone")]
    [InlineData("AAPL,1767225600,1,1,1,1,1", "bad time '1767225600'")]
    [InlineData("AAPL,1767225600000,1,1,1,1", "6 fields where the header has 7")]
    [InlineData("AAPL,1767225600000,1,1,1,,1", "missing close")]
    [InlineData("AAPL,1767225600000,1,1,1,NaN,1", "bad close 'NaN'")]
    [InlineData("\"AAPL,1767225600000,1,1,1,1,1", "unterminated quoted field")]
    public async Task Csv_UnreadableRow_ThrowsOneLineNamingIt(string row, string expected)
    {
        var path = Write("bars.csv", $"symbol,ts,open,high,low,close,volume\n{row}\n");

        var e = await Assert.ThrowsAsync<HistoricalProviderException>(() => FetchAsync(path, "AAPL"));

        Assert.StartsWith($"file {path}:2: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task Csv_HeaderWithoutVolume_ThrowsNamingLineOne()
    {
        var path = Write("bars.csv", $"symbol,ts,open,high,low,close\nAAPL,{T0},1,1,1,1\n");

        var e = await Assert.ThrowsAsync<HistoricalProviderException>(() => FetchAsync(path, "AAPL"));

        Assert.StartsWith($"file {path}:1: header has no volume column", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"symbol\":\"AAPL\",\"ts\":1767225600000,\"open\":1,", "not JSON")]
    [InlineData("[1,2,3]", "expected a JSON object, found Array")]
    [InlineData("{\"symbol\":\"AAPL\",\"open\":1,\"high\":1,\"low\":1,\"close\":1,\"volume\":1}", "missing time")]
    [InlineData("{\"symbol\":\"AAPL\",\"ts\":1767225600000,\"open\":true,\"high\":1,\"low\":1,\"close\":1,\"volume\":1}", "open is a JSON true")]
    public async Task Ndjson_UnreadableLine_ThrowsNamingFileAndLine(string line, string expected)
    {
        var path = Write("bars.jsonl", $"{{\"symbol\":\"AAPL\",\"ts\":{T0},\"open\":1,\"high\":1,\"low\":1,\"close\":1,\"volume\":1}}\n\n{line}\n");

        var e = await Assert.ThrowsAsync<HistoricalProviderException>(() => FetchAsync(path, "AAPL"));

        Assert.StartsWith($"file {path}:3: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task Fetch_MissingFile_ThrowsProviderException()
    {
        var path = Path.Combine(_dir, "absent.csv");

        var e = await Assert.ThrowsAsync<HistoricalProviderException>(() => FetchAsync(path, "AAPL"));

        Assert.StartsWith($"file {path}: cannot open", e.Message, StringComparison.Ordinal);
    }
}
