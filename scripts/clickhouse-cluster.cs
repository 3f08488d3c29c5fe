// A ClickHouse cluster on this machine, as the tests start it: ZooKeeper and three clickhouse-server replicas of
// one shard on free loopback ports (tests/Breadboard.TestKit/ClickHouse/ClickHouseClusterProcess.cs). It prints
// the store URL and runs until Ctrl-C, then stops them and deletes their data. For benchmarks and trying things:
//
//   dotnet run scripts/clickhouse-cluster.cs
//   ./breadboard store migrate --store 'clickhouse://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/bench1?cluster=breadboard_replicated'
//   ./breadboard bench clickhouse --store 'clickhouse://…/bench1?cluster=breadboard_replicated'
#:project ../tests/Breadboard.TestKit/Breadboard.TestKit.csproj
using System.Runtime.InteropServices;
using Breadboard.TestKit.ClickHouse;

using var stop = new CancellationTokenSource();

// Ctrl-C or SIGTERM: stop the servers on the way out rather than leave them running.
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.Cancel();
}

await using var cluster = await ClickHouseClusterProcess.StartAsync(log: Console.WriteLine, cancellationToken: stop.Token);
var replicas = string.Join(",", Enumerable.Range(0, cluster.Replicas.Count).Select(i => new Uri(cluster.Url(i)).Authority));
Console.WriteLine($"clickhouse://{replicas}/DATABASE?cluster={ClickHouseClusterProcess.Cluster}   (Ctrl-C stops it)");
try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
    // Ctrl-C: the servers stop as the cluster is disposed.
}
