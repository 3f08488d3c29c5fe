using Breadboard.Core.Model;
using Breadboard.DuckDb.Baseline;

namespace Breadboard.DuckDb.Tests.Baseline;

public sealed class DuckDbBarsBaselineTests : IDisposable
{
    private const long T0 = 1767364200000; // 2026-01-02T14:30:00.000Z

    // Lines are out of ts order on purpose. BTC-USD, sorted by (ts, line): L1 L3 L5 | L4 L7 L8.
    // L1/L3 tie at :01 (open is L1, the earlier line); L4/L7 tie at :50 (the minute's close is L7, the later line).
    // L5 (:20) to L4 (:50) is a gap of exactly 30 s: a new session. L7 (:50) to L8 (1:19.999) is 29.999 s: the same one.
    // AAPL trades zero volume in minute 2, so its bars have no VWAP.
    private const string Ticks =
        """
        {"symbol":"BTC-USD","ts":"2026-01-02T14:30:01.000Z","price":100,"volume":1,"trade_id":"1","exchange":"coinbase","asset_class":"crypto"}
        {"symbol":"AAPL","ts":"2026-01-02T14:32:10.000Z","price":51,"volume":0,"trade_id":null,"exchange":null,"asset_class":"stock"}
        {"symbol":"BTC-USD","ts":"2026-01-02T14:30:01.000Z","price":101,"volume":2,"trade_id":"2","exchange":"coinbase","asset_class":"crypto"}
        {"symbol":"BTC-USD","ts":"2026-01-02T14:30:50.000Z","price":105,"volume":0,"trade_id":"3","exchange":"coinbase","asset_class":"crypto"}
        {"symbol":"BTC-USD","ts":"2026-01-02T14:30:20.000Z","price":99,"volume":1,"trade_id":"4","exchange":"coinbase","asset_class":"crypto"}
        {"symbol":"AAPL","ts":"2026-01-02T14:32:00.000Z","price":50,"volume":0,"asset_class":"stock"}
        {"symbol":"BTC-USD","ts":"2026-01-02T14:30:50.000Z","price":103,"volume":1,"trade_id":"5","exchange":"coinbase","asset_class":"crypto"}
        {"symbol":"BTC-USD","ts":"2026-01-02T14:31:19.999Z","price":104,"volume":0,"trade_id":"6","exchange":"coinbase","asset_class":"crypto"}
        """;

    private readonly string _path = Path.Combine(Path.GetTempPath(), $"breadboard-baseline-{Guid.NewGuid():N}.ndjson");

    public DuckDbBarsBaselineTests() => File.WriteAllText(_path, Ticks + "\n");

    public void Dispose() => File.Delete(_path);

    [Fact]
    public void ComputeBars_OnHandWrittenTicks_GivesTheHandComputedBars()
    {
        // BTC-USD minute 0 holds L1 L3 L5 L4 L7: volume 1+2+1+0+1 = 5, Σ price·volume = 100+202+99+0+103 = 504.
        var btcMinute0 = (Open: 100.0, High: 105.0, Low: 99.0, Close: 103.0, Volume: 5.0, Vwap: (double?)(504.0 / 5), Trades: 5L);
        var btcAll = (Open: 100.0, High: 105.0, Low: 99.0, Close: 104.0, Volume: 5.0, Vwap: (double?)(504.0 / 5), Trades: 6L);
        var btcL8 = (Open: 104.0, High: 104.0, Low: 104.0, Close: 104.0, Volume: 0.0, Vwap: (double?)null, Trades: 1L);
        var aapl = (Open: 50.0, High: 51.0, Low: 50.0, Close: 51.0, Volume: 0.0, Vwap: (double?)null, Trades: 2L);

        Bar[] expected =
        [
            B("AAPL", "1m", 120_000, 180_000, aapl),
            B("BTC-USD", "1m", 0, 60_000, btcMinute0),
            B("BTC-USD", "1m", 60_000, 120_000, btcL8),

            // AAPL's ticks (minute 2) are in the five windows starting at minutes -2 to 2.
            B("AAPL", "5m", -120_000, 180_000, aapl),
            B("AAPL", "5m", -60_000, 240_000, aapl),
            B("AAPL", "5m", 0, 300_000, aapl),
            B("AAPL", "5m", 60_000, 360_000, aapl),
            B("AAPL", "5m", 120_000, 420_000, aapl),

            // BTC-USD's minute 0 is in windows from minute -4, minute 1 (L8) in windows up to minute 1.
            B("BTC-USD", "5m", -240_000, 60_000, btcMinute0),
            B("BTC-USD", "5m", -180_000, 120_000, btcAll),
            B("BTC-USD", "5m", -120_000, 180_000, btcAll),
            B("BTC-USD", "5m", -60_000, 240_000, btcAll),
            B("BTC-USD", "5m", 0, 300_000, btcAll),
            B("BTC-USD", "5m", 60_000, 360_000, btcL8),

            B("AAPL", "session", 120_000, 160_000, aapl),

            // L1 L3 L5: Σ price·volume = 100+202+99 = 401 over volume 4; ends 30 s after L5.
            B("BTC-USD", "session", 1_000, 50_000, (100, 101, 99, 99, 4, 401.0 / 4, 3)),

            // L4 L7 L8: opens at L4 (the earlier line of the :50 tie); ends 30 s after L8.
            B("BTC-USD", "session", 50_000, 109_999, (105, 105, 103, 104, 1, 103, 3)),
        ];

        Assert.Equal(expected, DuckDbBarsBaseline.ComputeBars(_path));
    }

    [Fact]
    public void SimpleSql_GivesTheSameBarsButForTheOrderOfTicksInOneMillisecond()
    {
        var exact = DuckDbBarsBaseline.ComputeBars(_path);
        var simple = DuckDbBarsBaseline.ComputeBars(_path, simple: true);

        // Open and close may differ only where ticks tie: BTC-USD's 14:30:01 (open) and 14:30:50 (close).
        Assert.Equal(exact.Select(b => b with { Open = 0, Close = 0 }), simple.Select(b => b with { Open = 0, Close = 0 }));
        Assert.Equal(exact.Where(b => b.Symbol == "AAPL"), simple.Where(b => b.Symbol == "AAPL"));
    }

    [Fact]
    public void Run_CountsBarsPerWindowAndTicks()
    {
        var result = DuckDbBarsBaseline.Run(_path);

        Assert.Equal(new Dictionary<string, long> { ["1m"] = 3, ["5m"] = 11, ["session"] = 3 }, result.BarsPerWindow);
        Assert.Equal(8, result.Ticks);
        Assert.True(result.Elapsed > TimeSpan.Zero);
    }

    [Fact]
    public void Run_MissingFile_ThrowsFileNotFound() =>
        Assert.Throws<FileNotFoundException>(() => DuckDbBarsBaseline.Run(_path + ".missing"));

    [Fact]
    public void Sql_ReadsThePathAsAParameter()
    {
        Assert.Contains("read_ndjson($path", DuckDbBarsBaseline.Sql, StringComparison.Ordinal);
        Assert.Contains("read_json($path,", DuckDbBarsBaseline.SimpleSql, StringComparison.Ordinal);
    }

    private static Bar B(string symbol, string window, long start, long end, (double Open, double High, double Low, double Close, double Volume, double? Vwap, long Trades) v) =>
        new(symbol, window, T0 + start, T0 + end, v.Open, v.High, v.Low, v.Close, v.Volume, v.Vwap, v.Trades);
}
