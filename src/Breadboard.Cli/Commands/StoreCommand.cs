using System.CommandLine;
using Breadboard.Cli.Settings;
using Breadboard.ClickHouse;

namespace Breadboard.Cli.Commands;

/// <summary><c>breadboard store migrate</c>: creates or migrates the ClickHouse schema, or prints its DDL.</summary>
internal static class StoreCommand
{
    public static Command Create()
    {
        var cluster = new Option<string?>("--cluster") { Description = "Write the replicated layout ON CLUSTER this name (ReplicatedReplacingMergeTree + Distributed); default the URL's ?cluster= or none." };
        var print = new Option<bool>("--print") { Description = "Print the DDL for an empty server instead of running anything." };
        var migrate = new Command("migrate", "Create or migrate the schema of the --store clickhouse://… database (safe to run again).") { cluster, print };
        migrate.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var url = Seams.Store.Resolve(parse);
            if (!ClickHouseUrl.TryParse(url, out var parsed, out var error))
            {
                throw new SettingException($"{Seams.Store.Describe(url)}: {(Seam.SchemeOf(url) == "clickhouse" ? error : "store migrate works on a ClickHouse store (DuckDB migrates itself on open)")}");
            }

            var onCluster = parse.GetValue(cluster) ?? parsed!.Cluster;
            if (parse.GetValue(print))
            {
                foreach (var statement in ClickHouseSchema.Statements(parsed!.Database, onCluster))
                {
                    Console.WriteLine(statement + ";");
                }

                return 0;
            }

            using var client = new ClickHouseHttpClient(parsed!.Replicas, parsed.Database, parsed.User, Environment.GetEnvironmentVariable(ClickHouseUrl.PasswordVariable));
            IReadOnlyList<int> applied;
            try
            {
                applied = await ClickHouseSchema.MigrateAsync(client, onCluster, cancellationToken);
            }
            catch (Exception e) when (e is ClickHouseException or ClickHouseUnavailableException)
            {
                throw new SettingException($"{Seams.Store.Describe(url)}: {e.Message}");
            }

            Console.WriteLine(applied.Count == 0
                ? $"store migrate: {parsed.Database} is at schema version {ClickHouseSchema.LatestVersion}; nothing to do"
                : $"store migrate: applied {string.Join(", ", applied)} to {parsed.Database}; now at version {ClickHouseSchema.LatestVersion}");
            return 0;
        }));
        return new Command("store", "The store's schema.") { migrate };
    }
}
