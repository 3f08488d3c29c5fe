using Breadboard.Batch.Providers;
using Breadboard.Batch.Staging;
using Breadboard.Batch.Steps;
using Breadboard.Batch.Validation;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.DuckDb;

namespace Breadboard.Batch.Tests.Steps;

public sealed class BatchStepsTests : IDisposable
{
    private const long T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z, a Thursday
    private readonly string _root = Directory.CreateTempSubdirectory("breadboard-batch-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static FetchRequest Request(params string[] symbols) => new("list", symbols, T0, T0 + (120 * 60_000L), "1m");

    private static ListProvider Provider() => new(new Dictionary<string, List<Bar>>
    {
        ["BTC-USD"] = ListProvider.Minutes("BTC-USD", T0, 120, 43_000),
        ["ETH-USD"] = ListProvider.Minutes("ETH-USD", T0, 120, 2_300),
    });

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task FetchValidateWrite_CleanData_StoresEveryBarOnce_EvenWrittenTwice()
    {
        var steps = new BatchSteps(_root);
        await using var store = DuckDbStore.Open(DuckDbStore.InMemoryPath);
        await store.InitializeAsync(Ct);

        Assert.Equal(240, await steps.FetchAsync("run-1", Request("BTC-USD", "ETH-USD"), Provider(), Ct));
        var report = await steps.ValidateAsync("run-1", ValidationOptions.Default, Ct);
        Assert.True(report.Ok, report.Summary());
        Assert.Equal(240, report.Bars);
        Assert.Equal(240, await steps.WriteAsync("run-1", store, Ct));
        Assert.Equal(240, await steps.WriteAsync("run-1", store, Ct));

        var stored = await store.QueryBarsAsync(new BarQuery(Window: "1m"), Ct).ToListAsync(Ct);
        Assert.Equal(240, stored.Count);
        Assert.Equal(ListProvider.Minutes("BTC-USD", T0, 120, 43_000), stored.Where(b => b.Symbol == "BTC-USD"));
        Assert.True(File.Exists(steps.ReportPath("run-1")));
    }

    [Fact]
    public async Task Fetch_CrashedHalfway_ResumesWithTheMissingSymbolsOnly()
    {
        var steps = new BatchSteps(_root);
        var provider = Provider();
        provider.FailFor = "ETH-USD";
        await Assert.ThrowsAsync<HistoricalProviderException>(() => steps.FetchAsync("run-2", Request("BTC-USD", "ETH-USD"), provider, Ct));
        Assert.False(steps.IsDone("run-2", BatchSteps.Fetched));

        provider.FailFor = null;
        provider.Calls.Clear();
        Assert.Equal(120, await steps.FetchAsync("run-2", Request("BTC-USD", "ETH-USD"), provider, Ct));

        Assert.Equal(["ETH-USD"], provider.Calls);
        Assert.True(steps.IsDone("run-2", BatchSteps.Fetched));
    }

    [Fact]
    public async Task Steps_OutOfOrderOrWithAnotherRequest_AreRefusedWithTheReason()
    {
        var steps = new BatchSteps(_root);
        await using var store = DuckDbStore.Open(DuckDbStore.InMemoryPath);
        await store.InitializeAsync(Ct);

        var validateFirst = await Assert.ThrowsAsync<InvalidOperationException>(() => steps.ValidateAsync("run-3", ValidationOptions.Default, Ct));
        Assert.Contains("`batch fetch --run-id run-3` has not finished", validateFirst.Message, StringComparison.Ordinal);

        await steps.FetchAsync("run-3", Request("BTC-USD"), Provider(), Ct);
        var writeFirst = await Assert.ThrowsAsync<InvalidOperationException>(() => steps.WriteAsync("run-3", store, Ct));
        Assert.Contains("`batch validate --run-id run-3` has not passed", writeFirst.Message, StringComparison.Ordinal);

        var other = await Assert.ThrowsAsync<ArgumentException>(() => steps.FetchAsync("run-3", Request("ETH-USD"), Provider(), Ct));
        Assert.Contains("use a new --run-id", other.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => StagedRun.Open(_root, "../escape"));
    }

    [Fact]
    public async Task Validate_BadData_FailsNamingEachKindOfProblem_AndBlocksTheWrite()
    {
        var bars = ListProvider.Minutes("BTC-USD", T0, 120, 43_000);
        bars[10] = bars[10] with { High = bars[10].Close - 1 };                      // ohlc
        bars[20] = bars[20] with { Volume = -5 };                                      // volume
        bars.RemoveRange(30, 5);                                                       // gap of 5 (now indices shift)
        bars.Insert(40, bars[40]);                                                     // duplicate
        bars[60] = bars[60] with { Close = bars[60].Close * 3, High = bars[60].Close * 3 }; // outlier
        var provider = new ListProvider(new Dictionary<string, List<Bar>> { ["BTC-USD"] = bars });
        var steps = new BatchSteps(_root);
        await steps.FetchAsync("bad", Request("BTC-USD"), provider, Ct);
        await File.AppendAllTextAsync(new BatchStepsPaths(_root).Bars("bad", "BTC-USD"), "{\"symbol\":\"BTC-USD\",\"window\":\"1m\"}\n", Ct); // schema

        var report = await steps.ValidateAsync("bad", ValidationOptions.Default, Ct);

        Assert.False(report.Ok);
        Assert.Equal(["duplicate", "gap", "ohlc", "outlier", "schema", "volume"], report.Counts.Keys.Order(StringComparer.Ordinal));
        Assert.Contains(report.Issues, i => i.Kind == "gap" && i.Detail.StartsWith("5 bar(s) missing until 2026-01-01T00:35:00.000Z", StringComparison.Ordinal));
        Assert.Contains(report.Issues, i => i.Kind == "schema" && i.Symbol == "BTC-USD.ndjson:117" && i.Detail.Contains("window_start", StringComparison.Ordinal));
        Assert.StartsWith("validate bad: 116 bars of 1 symbol(s): BAD DATA", report.Summary(), StringComparison.Ordinal);
        Assert.False(steps.IsDone("bad", BatchSteps.Validated));

        var lenient = await steps.ValidateAsync("bad", ValidationOptions.Default with { AllowGaps = true }, Ct);
        Assert.Contains(lenient.Issues, i => i.Kind == "gap" && !i.Error);
    }

    [Fact]
    public void Gaps_ForAStock_CountOnlyMarketHours()
    {
        // 2026-01-02 (a Friday) 14:30Z = 09:30 New York: the open. Bars for the first hour only.
        const long open = 1_767_364_200_000;
        var bars = ListProvider.Minutes("AAPL", open, 60, 190);

        var day = BarValidator.Check("AAPL", bars, open - (6 * 3_600_000L), open + (3_600_000L), 60_000, ValidationOptions.Default).ToList();
        Assert.Empty(day); // before the open nothing is expected

        var weekend = BarValidator.Check("AAPL", [], open + (24 * 3_600_000L), open + (48 * 3_600_000L), 60_000, ValidationOptions.Default).ToList();
        Assert.Empty(weekend); // Saturday the 3rd 09:30 to Sunday: no session

        var crypto = BarValidator.Check("BTC-USD", [], open, open + 3_600_000L, 60_000, ValidationOptions.Default).Single();
        Assert.Equal("60 bar(s) missing until 2026-01-02T15:30:00.000Z", crypto.Detail);
    }

    /// <summary>Where the steps put a run's files, for tests that tamper with them.</summary>
    private sealed class BatchStepsPaths(string root)
    {
        public string Bars(string runId, string symbol) => StagedRun.Open(root, runId).BarsPath(symbol);
    }
}
