using System.Text.Json;
using Breadboard.Core.Pipeline;
using Breadboard.DuckDb;
using Breadboard.Web.Api;
using Breadboard.Web.Live;

namespace Breadboard.Web.Tests;

/// <summary>With a partitioned bus (Kafka), /api/pipeline and /metrics report its lag per partition and at worst.</summary>
public class BusLagTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Pipeline_WithBusLag_ReportsWorstAndPerPartition()
    {
        await using var store = DuckDbStore.Open(DuckDbStore.InMemoryPath);
        await store.InitializeAsync(Ct);
        IReadOnlyList<BusPartitionLag> lag = [new("stock-prices", 0, 120, 0.8), new("crypto-prices", 3, 40, 2.5)];
        await using var app = WebServer.Build(
            new WebOptions { Urls = "http://127.0.0.1:0", Pipeline = PipelineDefinition.Default, StoreUrl = "duckdb://:memory:", BusUrl = "kafka://k:9092", BusLag = () => lag },
            store,
            new LiveHub());
        await app.StartAsync(Ct);
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        var bus = JsonDocument.Parse(await http.GetStringAsync(new Uri("/api/pipeline", UriKind.Relative), Ct)).RootElement.GetProperty("bus");
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), Ct);

        Assert.Equal("kafka://k:9092", bus.GetProperty("url").GetString());
        Assert.Equal(2.5, bus.GetProperty("lag_seconds").GetDouble());
        Assert.Equal(160, bus.GetProperty("lag_messages").GetInt64());
        Assert.Equal(2, bus.GetProperty("partitions").GetArrayLength());
        Assert.Contains("breadboard_bus_lag_seconds", metrics, StringComparison.Ordinal);
        Assert.Contains("breadboard_bus_partition_lag", metrics, StringComparison.Ordinal);
        Assert.Contains("partition=\"3\"", metrics, StringComparison.Ordinal);
        await app.StopAsync(Ct);
    }
}
