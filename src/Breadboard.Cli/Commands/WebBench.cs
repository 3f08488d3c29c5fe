using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.DuckDb;
using Breadboard.Feeds.Synthetic;
using Breadboard.Runtime.Faces;
using Breadboard.Web;
using Breadboard.Web.Live;

namespace Breadboard.Cli.Commands;

/// <summary>
/// <c>breadboard bench web</c>: the embedded pipeline with the web server under a heavy synthetic feed; measures
/// what one dashboard receives, the process's CPU, and /api/bars latency for a day of 1m bars.
/// </summary>
internal static class WebBench
{
    public static Command Create()
    {
        var symbols = new Option<int>("--symbols") { Description = "Synthetic symbols.", DefaultValueFactory = _ => 500 };
        var rate = new Option<double>("--rate") { Description = "Ticks per second across symbols.", DefaultValueFactory = _ => 20_000 };
        var seconds = new Option<int>("--seconds") { Description = "Measured seconds (after 3 s of warm-up).", DefaultValueFactory = _ => 20 };
        var requests = new Option<int>("--requests") { Description = "/api/bars requests for the latency figures.", DefaultValueFactory = _ => 500 };
        var command = new Command("web", "Live stream rates, CPU and /api/bars latency with the embedded pipeline under load.") { symbols, rate, seconds, requests };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(() => RunAsync(parse.GetValue(symbols), parse.GetValue(rate), parse.GetValue(seconds), parse.GetValue(requests), cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(int symbolCount, double rate, int seconds, int requests, CancellationToken cancellationToken)
    {
        var dir = Directory.CreateTempSubdirectory("breadboard-bench-web-");
        try
        {
            await using var store = DuckDbStore.Open(Path.Combine(dir.FullName, "bench.duckdb"));
            await store.InitializeAsync(cancellationToken);
            await using var alerts = new MemoryAlertBus();
            var hub = new LiveHub();
            var definition = PipelineDefinition.Default;
            var embedded = new EmbeddedPipeline(definition, store, alerts, EmbeddedPipelineOptions.Default, hub);
            await using var web = WebServer.Build(new WebOptions { Urls = "http://127.0.0.1:0", Pipeline = definition, StoreUrl = "duckdb://bench" }, store, hub, embedded.Stats);
            await web.StartAsync(cancellationToken);
            var address = new Uri(web.Urls.First());

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var feedOptions = SyntheticFeedOptions.ForBenchmark(symbolCount) with { RatePerSecond = rate, StartTime = null };
            var chartSymbol = feedOptions.Symbols[0];
            var run = embedded.RunAsync(new SyntheticFeed(feedOptions).RunLiveAsync(stop.Token), stop.Token);

            using var socket = new ClientWebSocket();
            await socket.ConnectAsync(new UriBuilder(address) { Scheme = "ws", Path = "/api/stream" }.Uri, cancellationToken);
            await socket.SendAsync(Encoding.UTF8.GetBytes($$"""{"type":"subscribe","symbol":"{{chartSymbol}}","window":"1m"}"""), WebSocketMessageType.Text, true, cancellationToken);
            var counts = new MessageCounts();
            var receiving = counts.ReceiveAsync(socket, stop.Token);

            Console.WriteLine($"bench web: {symbolCount} symbols at {rate:N0} ticks/s, one dashboard charting {chartSymbol} 1m; {Environment.ProcessorCount} cores");
            await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
            using var self = Process.GetCurrentProcess();
            self.Refresh();
            var cpu0 = self.TotalProcessorTime;
            var ticks0 = embedded.Stats.Ticks;
            var clock = Stopwatch.StartNew();
            counts.Reset();
            await Task.Delay(TimeSpan.FromSeconds(seconds), cancellationToken);
            var elapsed = clock.Elapsed.TotalSeconds;
            self.Refresh();
            var cpu = (self.TotalProcessorTime - cpu0).TotalSeconds / elapsed;
            var ticks = (embedded.Stats.Ticks - ticks0) / elapsed;
            var snapshot = counts.Snapshot();

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pipeline: {ticks:N0} ticks/s processed over {elapsed:F1} s; process CPU {cpu * 100:F0} % of one core ({cpu * 100 / Environment.ProcessorCount:F0} % of the machine), pipeline + store + web together"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"dashboard received per second: {snapshot.Total / elapsed:F1} messages ({snapshot.Bytes / elapsed / 1024:F0} KiB): ticks {snapshot.Ticks / elapsed:F1}, chart bar updates {snapshot.Bars / elapsed:F1}, alerts {snapshot.Alerts / elapsed:F1}, pipeline {snapshot.Pipeline / elapsed:F1}"));

            await stop.CancelAsync();
            await run;
            await receiving;

            await BarsLatencyAsync(store, address, requests, cancellationToken);
            return 0;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>One day of 1m bars for one symbol, fetched over HTTP again and again: p50/p99 latency.</summary>
    private static async Task BarsLatencyAsync(DuckDbStore store, Uri address, int requests, CancellationToken cancellationToken)
    {
        var day = new DateTimeOffset(2026, 1, 2, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var batch = new StoreBatch();
        for (var m = 0; m < 1_440; m++)
        {
            var start = day + (m * 60_000L);
            batch.Bars.Add(new Bar("DAY-USD", "1m", start, start + 60_000, 100, 101, 99, 100.5, 10, 100.2, 42));
        }

        await store.WriteAsync(batch, cancellationToken);
        using var http = new HttpClient { BaseAddress = address };
        var path = new Uri($"/api/bars?symbol=DAY-USD&window=1m&from={day}&to={day + 86_400_000}&limit=1440", UriKind.Relative);
        var times = new double[requests];
        for (var i = -20; i < requests; i++)
        {
            var clock = Stopwatch.StartNew();
            using var response = await http.GetAsync(path, cancellationToken);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (i == -20 && JsonDocument.Parse(body).RootElement.GetArrayLength() != 1_440)
            {
                throw new InvalidDataException("/api/bars did not return the 1,440 bars of the day");
            }

            if (i >= 0)
            {
                times[i] = clock.Elapsed.TotalMilliseconds;
            }
        }

        Array.Sort(times);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"/api/bars, one day of 1m bars (1,440), {requests} sequential requests after 20 warm-up: p50 {times[requests / 2]:F1} ms, p99 {times[(int)(requests * 0.99)]:F1} ms, max {times[^1]:F1} ms (target p99 < 50 ms)"));
    }

    private sealed class MessageCounts
    {
        private long _ticks, _bars, _alerts, _pipeline, _total, _bytes;

        public void Reset()
        {
            Interlocked.Exchange(ref _ticks, 0);
            Interlocked.Exchange(ref _bars, 0);
            Interlocked.Exchange(ref _alerts, 0);
            Interlocked.Exchange(ref _pipeline, 0);
            Interlocked.Exchange(ref _total, 0);
            Interlocked.Exchange(ref _bytes, 0);
        }

        public (long Ticks, long Bars, long Alerts, long Pipeline, long Total, long Bytes) Snapshot() =>
            (Interlocked.Read(ref _ticks), Interlocked.Read(ref _bars), Interlocked.Read(ref _alerts), Interlocked.Read(ref _pipeline), Interlocked.Read(ref _total), Interlocked.Read(ref _bytes));

        public async Task ReceiveAsync(ClientWebSocket socket, CancellationToken cancellationToken)
        {
            var buffer = new byte[1 << 20];
            try
            {
                while (true)
                {
                    var length = 0;
                    ValueWebSocketReceiveResult result;
                    do
                    {
                        result = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
                        length += result.Count;
                    }
                    while (!result.EndOfMessage);

                    Interlocked.Increment(ref _total);
                    Interlocked.Add(ref _bytes, length);
                    var type = JsonDocument.Parse(buffer.AsMemory(0, length)).RootElement.GetProperty("type").GetString();
                    switch (type)
                    {
                        case "ticks": Interlocked.Increment(ref _ticks); break;
                        case "bar": Interlocked.Increment(ref _bars); break;
                        case "alert": Interlocked.Increment(ref _alerts); break;
                        case "pipeline": Interlocked.Increment(ref _pipeline); break;
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or WebSocketException)
            {
                // The benchmark is over.
            }
        }
    }
}
