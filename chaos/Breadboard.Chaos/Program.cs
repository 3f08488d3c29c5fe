using System.CommandLine;
using System.Globalization;

namespace Breadboard.Chaos;

/// <summary>
/// <c>scripts/chaos.sh</c>: the production face under load and faults, checked against a replay of its input.
/// Exit 0 only when every check holds.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var minutes = new Option<double>("--minutes") { Description = "How long faults land (the input lasts as long at the rate).", DefaultValueFactory = _ => 10 };
        var seed = new Option<int?>("--seed") { Description = "Makes the input and the fault schedule; printed, so a run can be repeated. Default: random." };
        var rate = new Option<double>("--rate") { Description = "Ticks per second into ingest.", DefaultValueFactory = _ => 10_000 };
        var output = new Option<string>("--out") { Description = "Where each run gets its directory (logs, report, the input).", DefaultValueFactory = _ => Path.Combine("artifacts", "chaos") };
        var soak = new Option<bool>("--no-faults") { Description = "A soak: the same run and checks without faults (memory and lag over a long run)." };
        var single = new Option<bool>("--single-clickhouse") { Description = "One ClickHouse server instead of three replicas with ZooKeeper." };
        var root = new RootCommand("The production face under load and faults: nothing lost or repeated.") { minutes, seed, rate, output, soak, single };
        root.SetAction(async (parse, cancellationToken) =>
        {
            var runSeed = parse.GetValue(seed) ?? Random.Shared.Next(1, 1_000_000);
            var directory = Path.GetFullPath(Path.Combine(parse.GetValue(output)!, string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-seed{runSeed}")));
            var options = new ChaosOptions(TimeSpan.FromMinutes(parse.GetValue(minutes)), runSeed, parse.GetValue(rate), directory, !parse.GetValue(soak), !parse.GetValue(single));
            return await new ChaosRun(options).RunAsync(cancellationToken);
        });
        return await root.Parse(args).InvokeAsync();
    }
}
