using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Breadboard.Cli.Settings;
using Breadboard.ClickHouse;
using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Feeds.Synthetic;
using Breadboard.Web;
using Breadboard.Web.Live;

namespace Breadboard.Cli.Commands;

/// <summary>
/// <c>breadboard bench clickhouse</c>: tick insert throughput through <see cref="ClickHouseStore.WriteAsync"/>, then
/// the latency of the API's queries served from that store by the web API in-process.
/// </summary>
/// <remarks>It writes into the database the URL names and refuses one that already holds ticks, so a run never
/// mixes with other data (or production's): name a new database, which is created.</remarks>
internal static class ClickHouseBench
{
    private const long Day = 86_400_000;

    public static Command Create()
    {
        var ticks = new Option<int>("--ticks") { Description = "Synthetic ticks to insert (they span one day of event time).", DefaultValueFactory = _ => 5_000_000 };
        var batch = new Option<int>("--batch") { Description = "Ticks per store write (one INSERT).", DefaultValueFactory = _ => 100_000 };
        var symbols = new Option<int>("--symbols") { Description = "Synthetic symbols.", DefaultValueFactory = _ => 50 };
        var writers = new Option<int>("--writers") { Description = "Concurrent writes.", DefaultValueFactory = _ => 1 };
        var requests = new Option<int>("--requests") { Description = "Requests per API query for the latency figures (after 5 warm-up).", DefaultValueFactory = _ => 100 };
        var command = new Command("clickhouse", "Tick insert throughput into the ClickHouse store and the API's query latency over it (needs --store clickhouse://…/NEW_DATABASE).")
        {
            ticks, batch, symbols, writers, requests,
        };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(() => RunAsync(
            parse, parse.GetValue(ticks), parse.GetValue(batch), parse.GetValue(symbols), parse.GetValue(writers), parse.GetValue(requests), cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, int tickCount, int batchSize, int symbolCount, int writerCount, int requests, CancellationToken cancellationToken)
    {
        if (tickCount < 1 || batchSize < 1 || symbolCount < 1 || writerCount < 1 || requests < 1)
        {
            throw new SettingException("--ticks, --batch, --symbols, --writers and --requests must be at least 1");
        }

        var url = Seams.Store.Resolve(parse);
        if (Seam.SchemeOf(url) != "clickhouse")
        {
            throw new SettingException($"{Seams.Store.Describe(url)}: this command needs a ClickHouse store: --store clickhouse://host:8123/NEW_DATABASE");
        }

        Backends.CheckOtherSeams(parse);
        await using var store = (ClickHouseStore)await Backends.OpenStoreAsync(parse, cancellationToken);
        var parsed = ClickHouseUrl.TryParse(url, out var p, out var error) ? p! : throw new SettingException($"{Seams.Store.Describe(url)}: {error}");
        var database = parsed.Database;
        using var admin = new ClickHouseHttpClient(parsed.Replicas, database, parsed.User, Environment.GetEnvironmentVariable(ClickHouseUrl.PasswordVariable));

        // On a cluster the store writes each replica's own table (created by `store migrate`), as the roles do.
        var ticksTable = parsed.Cluster is null ? "ticks" : "ticks_local";
        var existing = await ScalarAsync(admin, $"SELECT count() AS v FROM {ticksTable}", cancellationToken);
        if (existing > 0)
        {
            throw new SettingException($"{Seams.Store.Describe(url)}: database '{database}' already holds {existing:N0} ticks; bench clickhouse needs an empty one (name a new database: it is created)");
        }

        var version = await admin.GetServerVersionAsync(cancellationToken);
        Console.WriteLine($"bench clickhouse: {tickCount:N0} ticks, {symbolCount} symbols, batches of {batchSize:N0}, {writerCount} writer(s), through ClickHouseStore.WriteAsync, into {store.Location} (ClickHouse {version}); client: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");

        // Not timed: the ticks, one day of event time, cut into the batches the store receives.
        var feed = SyntheticFeedOptions.ForBenchmark(symbolCount) with { RatePerSecond = tickCount / (Day / 1000.0) };
        var clock = Stopwatch.StartNew();
        var all = new List<Tick>(tickCount);
        all.AddRange(new SyntheticFeed(feed).Generate(tickCount));
        var batches = new StoreBatch[(tickCount + batchSize - 1) / batchSize];
        for (var b = 0; b < batches.Length; b++)
        {
            batches[b] = new StoreBatch();
            batches[b].Ticks.AddRange(all.GetRange(b * batchSize, Math.Min(batchSize, tickCount - (b * batchSize))));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"generated {tickCount:N0} ticks in {clock.Elapsed.TotalSeconds:F1} s (not timed)"));

        var inserting = Stopwatch.StartNew();
        await InsertTicksAsync(b => store.WriteAsync(batches[b], cancellationToken).AsTask(), admin, ticksTable, batches, tickCount, writerCount, cancellationToken);
        if (parsed.Replicas.Count > 1)
        {
            await ReplicatedAsync(parsed, ticksTable, tickCount, inserting, cancellationToken);
        }

        var (bars, alerts) = await FillBarsAndAlertsAsync(store, all, batchSize, cancellationToken);
        var parts = await ScalarAsync(admin, $"SELECT count() AS v FROM system.parts WHERE database = currentDatabase() AND table = '{ticksTable}' AND active", cancellationToken);
        Console.WriteLine($"ticks table: {parts} active parts when the queries start (background merges continue)");

        await using var web = WebServer.Build(new WebOptions { Urls = "http://127.0.0.1:0", Pipeline = PipelineDefinition.Default, StoreUrl = SecretText.Redact(url) }, store, new LiveHub());
        await web.StartAsync(cancellationToken);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(web.Urls.First()), Timeout = TimeSpan.FromMinutes(2) };
            var symbol = feed.Symbols[0];
            var from = SyntheticFeedOptions.BenchmarkStartTime;
            var dayBars = bars.Count(b => b.Symbol == symbol && b.Window == "1m" && b.WindowStart >= from && b.WindowStart < from + Day);
            var symbolTicks = all.Count(t => t.Symbol == symbol);
            const int alertLimit = 100;
            Console.WriteLine($"API latency, {requests} sequential requests each after 5 warm-up, through the web API in-process:");
            await LatencyAsync(http, "/api/symbols", symbolCount, requests, cancellationToken);
            await LatencyAsync(http, string.Create(CultureInfo.InvariantCulture, $"/api/bars?symbol={symbol}&window=1m&from={from}&to={from + Day}&limit=1440"), dayBars, requests, cancellationToken);
            await LatencyAsync(http, string.Create(CultureInfo.InvariantCulture, $"/api/alerts?limit={alertLimit}"), Math.Min(alertLimit, alerts), requests, cancellationToken);
            await LatencyAsync(http, $"/api/ticks?symbol={symbol}&limit=1000", Math.Min(1000, symbolTicks), requests, cancellationToken);
            await RestoreReadAsync(store, symbol, all.Count(t => t.Symbol == symbol && t.TradeId.HasValue), cancellationToken);
        }
        finally
        {
            await web.StopAsync(CancellationToken.None);
        }

        return 0;
    }

    /// <summary>The timed part: every batch written, by concurrent writers.</summary>
    private static async Task InsertTicksAsync(Func<int, Task> write, ClickHouseHttpClient admin, string ticksTable, StoreBatch[] batches, int tickCount, int writerCount, CancellationToken cancellationToken)
    {
        var writeTimes = new double[batches.Length];
        var next = -1;
        using var self = Process.GetCurrentProcess();
        GC.Collect();
        var machine0 = MachineCpu.Read();
        self.Refresh();
        var cpu0 = self.TotalProcessorTime;
        var allocated0 = GC.GetTotalAllocatedBytes(precise: true);
        var gen0 = GC.CollectionCount(0);
        var clock = Stopwatch.StartNew();
        var writers = new Task[writerCount];
        for (var w = 0; w < writerCount; w++)
        {
            writers[w] = Task.Run(async () =>
            {
                int b;
                while ((b = Interlocked.Increment(ref next)) < batches.Length)
                {
                    var started = Stopwatch.GetTimestamp();
                    await write(b);
                    writeTimes[b] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                }
            }, cancellationToken);
        }

        await Task.WhenAll(writers);
        var elapsed = clock.Elapsed.TotalSeconds;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated0;
        var gen0s = GC.CollectionCount(0) - gen0;
        self.Refresh();
        var cpu = (self.TotalProcessorTime - cpu0).TotalSeconds / elapsed;
        var machine = MachineCpu.Read() is { } m1 && machine0 is { } m0 ? m1.BusySince(m0) : (double?)null;

        var bytes = await admin.QueryAsync(
            $"SELECT sum(data_uncompressed_bytes) AS raw, sum(data_compressed_bytes) AS disk FROM system.parts WHERE database = currentDatabase() AND table = '{ticksTable}' AND active",
            row => (Raw: row.GetProperty("raw").GetDouble(), Disk: row.GetProperty("disk").GetDouble()),
            cancellationToken);
        Array.Sort(writeTimes);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"insert: {tickCount:N0} ticks in {elapsed:F2} s = {tickCount / elapsed:N0} ticks/s (target ≥ 500,000: {(tickCount / elapsed >= 500_000 ? "met" : "NOT met")}); {bytes[0].Raw / 1e6 / elapsed:F1} MB/s of column data ({bytes[0].Raw / 1e6:F0} MB uncompressed, {bytes[0].Disk / 1e6:F0} MB on disk)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  per write of {batches[0].Ticks.Count:N0}: p50 {Percentile(writeTimes, 0.50):F0} ms, max {writeTimes[^1]:F0} ms; client allocated {allocated / (double)tickCount:F1} B/tick ({gen0s} gen0 GCs)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  CPU: this process {cpu * 100:F0} % of one core{(machine is { } busy ? $"; whole machine {busy * 100:F0} % of {Environment.ProcessorCount} cores, so everything else (the server, when it is local) {Math.Max(0, (busy * Environment.ProcessorCount) - cpu) * 100:F0} % of one core" : "")}"));
    }

    /// <summary>
    /// With several replicas: how long after the first write every replica held every tick. An insert is
    /// acknowledged by one replica, and the others fetch its parts; on one machine they share its cores.
    /// </summary>
    private static async Task ReplicatedAsync(ClickHouseUrl url, string ticksTable, int tickCount, Stopwatch since, CancellationToken cancellationToken)
    {
        var password = Environment.GetEnvironmentVariable(ClickHouseUrl.PasswordVariable);
        var replicas = url.Replicas.Select(r => new ClickHouseHttpClient(r, url.Database, url.User, password)).ToList();
        var held = new long[replicas.Count];
        try
        {
            while (true)
            {
                for (var r = 0; r < held.Length; r++)
                {
                    held[r] = await ScalarAsync(replicas[r], $"SELECT count() AS v FROM {ticksTable}", cancellationToken);
                }

                if (held.All(n => n >= tickCount) || since.Elapsed > TimeSpan.FromMinutes(5))
                {
                    break;
                }

                await Task.Delay(100, cancellationToken);
            }
        }
        finally
        {
            replicas.ForEach(r => r.Dispose());
        }

        var seconds = since.Elapsed.TotalSeconds;
        Console.WriteLine(held.All(n => n >= tickCount)
            ? string.Create(CultureInfo.InvariantCulture, $"  replicated: every one of {held.Length} replicas held all {tickCount:N0} ticks {seconds:F2} s after the first write = {tickCount / seconds:N0} ticks/s onto every replica")
            : $"  replicated: after 5 minutes the replicas hold {string.Join(", ", held.Select(n => n.ToString("N0", CultureInfo.InvariantCulture)))} of {tickCount:N0} ticks");
    }

    /// <summary>Runs the default pipeline over the same ticks and writes its bars and alerts, so the API has them to serve.</summary>
    private static async Task<(List<Bar> Bars, int Alerts)> FillBarsAndAlertsAsync(ClickHouseStore store, List<Tick> ticks, int batchSize, CancellationToken cancellationToken)
    {
        var output = new Collector();
        var engine = new WindowEngine(PipelineDefinition.Default, output);
        foreach (var tick in ticks)
        {
            engine.Process(tick);
        }

        engine.CloseAll();
        var clock = Stopwatch.StartNew();
        var batch = new StoreBatch();
        for (var i = 0; i < output.Bars.Count; i += batchSize)
        {
            batch.Clear();
            batch.Bars.AddRange(output.Bars.GetRange(i, Math.Min(batchSize, output.Bars.Count - i)));
            await store.WriteAsync(batch, cancellationToken);
        }

        batch.Clear();
        batch.Alerts.AddRange(output.Alerts);
        await store.WriteAsync(batch, cancellationToken);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bars and alerts of the default pipeline over the same ticks: {output.Bars.Count:N0} bars and {output.Alerts.Count:N0} alerts written in {clock.Elapsed.TotalSeconds:F2} s"));
        return (output.Bars, output.Alerts.Count);
    }

    /// <summary>One GET again and again: the first answer's row count is checked, then p50/p95/p99/max.</summary>
    private static async Task LatencyAsync(HttpClient http, string path, int expectedRows, int requests, CancellationToken cancellationToken)
    {
        var uri = new Uri(path, UriKind.Relative);
        var times = new double[requests];
        var size = 0;
        for (var i = -5; i < requests; i++)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await http.GetAsync(uri, cancellationToken);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidDataException($"{path} answered {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(body)}");
            }

            if (i == -5)
            {
                var rows = JsonDocument.Parse(body).RootElement.GetArrayLength();
                if (rows != expectedRows)
                {
                    throw new InvalidDataException($"{path} returned {rows} rows, expected {expectedRows}");
                }

                size = body.Length;
            }

            if (i >= 0)
            {
                times[i] = elapsed;
            }
        }

        Array.Sort(times);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {path} ({expectedRows:N0} rows, {size / 1024.0:F0} KiB): p50 {Percentile(times, 0.50):F1} ms, p95 {Percentile(times, 0.95):F1} ms, p99 {Percentile(times, 0.99):F1} ms, max {times[^1]:F1} ms"));
    }

    /// <summary>
    /// What a restored processor reads back for a partition's dedup horizon, the trade ids of its symbols
    /// (<see cref="ClickHouseStore.QueryTradeIdsAsync"/>), beside the whole ticks of the same selection
    /// (<see cref="ClickHouseStore.QueryTicksAsync"/>, what it read before): the median of 5 each after a warm-up.
    /// </summary>
    private static async Task RestoreReadAsync(ClickHouseStore store, string symbol, int expectedIds, CancellationToken cancellationToken)
    {
        var query = new TickQuery { Symbols = [symbol] };
        async Task<double> MedianAsync(Func<Task<int>> read, int expected)
        {
            var times = new double[5];
            for (var i = -1; i < times.Length; i++)
            {
                var started = Stopwatch.GetTimestamp();
                var rows = await read();
                if (rows != expected)
                {
                    throw new InvalidDataException($"the read-back of {symbol} gave {rows:N0} rows, expected {expected:N0}");
                }

                if (i >= 0)
                {
                    times[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                }
            }

            Array.Sort(times);
            return times[times.Length / 2];
        }

        var ids = await MedianAsync(async () => await store.QueryTradeIdsAsync(query, cancellationToken).CountAsync(id => id.TradeId.HasValue, cancellationToken), expectedIds);
        var whole = await MedianAsync(async () => await store.QueryTicksAsync(query, cancellationToken).CountAsync(t => t.TradeId.HasValue, cancellationToken), expectedIds);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"restore read-back of {symbol}'s {expectedIds:N0} trade ids (a processor's dedup horizon), median of 5: {ids:F0} ms as trade ids (RowBinary), {whole:F0} ms as whole ticks (JSON)"));
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * p))];

    private static async Task<long> ScalarAsync(ClickHouseHttpClient client, string sql, CancellationToken cancellationToken) =>
        (await client.QueryAsync(sql, row => row.GetProperty("v").GetInt64(), cancellationToken))[0];

    private sealed class Collector : IEngineOutput
    {
        public List<Bar> Bars { get; } = [];

        public List<Alert> Alerts { get; } = [];

        public void OnBar(Bar bar) => Bars.Add(bar);

        public void OnAlert(Alert alert) => Alerts.Add(alert);

        public void OnLate(in Tick tick, long watermark)
        {
        }

        public void OnTick(in Tick tick, long position)
        {
        }

        public void OnReject(in Tick tick, long position, string reason)
        {
        }
    }

    /// <summary>The machine's busy and total CPU time from <c>/proc/stat</c> (Linux only; null elsewhere).</summary>
    private readonly record struct MachineCpu(long Busy, long Total)
    {
        public static MachineCpu? Read()
        {
            if (!File.Exists("/proc/stat"))
            {
                return null;
            }

            // cpu  user nice system idle iowait irq softirq steal ...
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long total = 0, idle = 0;
            for (var i = 1; i < Math.Min(fields.Length, 9); i++)
            {
                var value = long.Parse(fields[i], CultureInfo.InvariantCulture);
                total += value;
                if (i is 4 or 5)
                {
                    idle += value;
                }
            }

            return new MachineCpu(total - idle, total);
        }

        /// <summary>The busy fraction of all cores between <paramref name="earlier"/> and this reading.</summary>
        public double BusySince(MachineCpu earlier) => Total == earlier.Total ? 0 : (Busy - earlier.Busy) / (double)(Total - earlier.Total);
    }
}
