using System.CommandLine;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.DuckDb;

namespace Breadboard.Cli.Settings;

/// <summary>Opens the store and alert bus the seams name; a bad URL or an unreachable backend becomes a <see cref="SettingException"/>.</summary>
internal static class Backends
{
    public static async Task<IMarketStore> OpenStoreAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var url = Seams.Store.Resolve(parse);
        if (Seam.SchemeOf(url) == "clickhouse")
        {
            return await OpenClickHouseAsync(url, cancellationToken);
        }

        if (!DuckDbStore.TryParseUrl(url, out var path, out var error))
        {
            throw new SettingException($"{Seams.Store.Describe(url)}: {error}");
        }

        DuckDbStore? store = null;
        try
        {
            store = DuckDbStore.Open(path, Commands.CommandRunner.Logger("store"));
            await store.InitializeAsync(cancellationToken);
            return store;
        }
        catch (Exception e) when (e is System.Data.Common.DbException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            if (store is not null)
            {
                await store.DisposeAsync();
            }

            throw new SettingException($"{Seams.Store.Describe(url)}: cannot open the database: {FirstLine(e.Message)}");
        }
    }

    /// <summary>
    /// The configured store for reading history while the running pipeline may be writing it: ClickHouse as it is;
    /// a DuckDB file as a private copy (DuckDB lets no other process open a file one has open for writing), which
    /// <paramref name="note"/> says.
    /// </summary>
    public static async Task<IMarketStore> OpenStoreForReadingAsync(ParseResult parse, Action<string> note, CancellationToken cancellationToken)
    {
        var url = Seams.Store.Resolve(parse);
        if (Seam.SchemeOf(url) == "clickhouse")
        {
            return await OpenClickHouseAsync(url, cancellationToken);
        }

        if (!DuckDbStore.TryParseUrl(url, out var path, out var error))
        {
            throw new SettingException($"{Seams.Store.Describe(url)}: {error}");
        }

        if (path == DuckDbStore.InMemoryPath)
        {
            throw new SettingException($"{Seams.Store.Describe(url)}: an in-memory database is private to the process that opened it; name the file the pipeline writes");
        }

        if (!File.Exists(path))
        {
            throw new SettingException($"{Seams.Store.Describe(url)}: no database file at '{Path.GetFullPath(path)}'");
        }

        try
        {
            var store = await DuckDbStore.OpenCopyAsync(path, cancellationToken: cancellationToken);
            note($"reading a copy of {Path.GetFullPath(path)} taken now ({new FileInfo(path).Length / 1048576.0:F1} MB), so a running pipeline keeps writing the original undisturbed");
            return store;
        }
        catch (Exception e) when (e is System.Data.Common.DbException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            throw new SettingException($"{Seams.Store.Describe(url)}: cannot read a copy of the database: {FirstLine(e.Message)}");
        }
    }

    private static async Task<IMarketStore> OpenClickHouseAsync(string url, CancellationToken cancellationToken)
    {
        Breadboard.ClickHouse.ClickHouseStore store;
        try
        {
            store = Breadboard.ClickHouse.ClickHouseStore.Open(url, Environment.GetEnvironmentVariable(Breadboard.ClickHouse.ClickHouseUrl.PasswordVariable), logger: Commands.CommandRunner.Logger("store"));
        }
        catch (ArgumentException e)
        {
            throw new SettingException($"{Seams.Store.Describe(url)}: {e.Message}");
        }

        try
        {
            await store.InitializeAsync(cancellationToken);
            return store;
        }
        catch (Exception e) when (e is Breadboard.ClickHouse.ClickHouseException or Breadboard.ClickHouse.ClickHouseUnavailableException)
        {
            await store.DisposeAsync();
            throw new SettingException($"{Seams.Store.Describe(url)}: {FirstLine(e.Message)}");
        }
    }

    /// <summary>The alert bus the seam names: in-process broadcast, or NATS JetStream (connected, streams ensured).</summary>
    public static async Task<IAlertBus> OpenAlertBusAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var url = Seams.Alerts.Resolve(parse);
        if (Seam.SchemeOf(url) != "nats")
        {
            return new MemoryAlertBus();
        }

        try
        {
            return await Breadboard.Nats.NatsAlertBus.ConnectAsync(NatsAlerts(parse), Commands.CommandRunner.Logger("alerts"), cancellationToken);
        }
        catch (Breadboard.Nats.NatsSetupException e)
        {
            throw new SettingException($"{Seams.Alerts.Describe(url)}: {e.Message}");
        }
    }

    /// <summary>The NATS alert bus the seam names; anything else is a one-line error.</summary>
    public static Breadboard.Nats.NatsAlertOptions NatsAlerts(ParseResult parse)
    {
        var url = Seams.Alerts.Resolve(parse);
        if (Seam.SchemeOf(url) != "nats")
        {
            throw new SettingException($"{Seams.Alerts.Describe(url)}: this command needs a NATS alert bus: --alerts nats://host:4222");
        }

        return Breadboard.Nats.NatsAlertOptions.TryParse(url, out var options, out var error)
            ? options!
            : throw new SettingException($"{Seams.Alerts.Describe(url)}: {error}");
    }

    /// <summary>
    /// Checks the seams a command does not open itself name known schemes; a command that runs its own in-process
    /// bus refuses a Kafka bus rather than silently ignoring it.
    /// </summary>
    public static void CheckOtherSeams(ParseResult parse, bool busIsInProcess = true)
    {
        var bus = Seams.Bus.Resolve(parse);
        if (busIsInProcess && Seam.SchemeOf(bus) == "kafka")
        {
            throw new SettingException($"{Seams.Bus.Describe(bus)}: this command runs its own in-process bus; use 'breadboard ingest' to publish to Kafka");
        }

        Seams.Engine.Resolve(parse);
        Seams.Scheduler.Resolve(parse);
    }

    /// <summary>Whether the engine seam names a Flink cluster (its SQL Gateway) rather than the local engine.</summary>
    public static bool IsFlinkEngine(ParseResult parse) => Seams.Engine.Resolve(parse) != "local";

    /// <summary>The Kafka bus the seam names; anything else is a one-line error.</summary>
    public static Breadboard.Kafka.KafkaBusOptions KafkaBus(ParseResult parse)
    {
        var url = Seams.Bus.Resolve(parse);
        if (Seam.SchemeOf(url) != "kafka")
        {
            throw new SettingException($"{Seams.Bus.Describe(url)}: this command needs a Kafka bus: --bus kafka://host:port[,host:port…]");
        }

        return Breadboard.Kafka.KafkaBusOptions.TryParse(url, out var options, out var error)
            ? options!
            : throw new SettingException($"{Seams.Bus.Describe(url)}: {error}");
    }

    /// <summary>A processor group's lag as the web API reports it.</summary>
    public static IReadOnlyList<Breadboard.Web.Api.BusPartitionLag> ToBusLag(IEnumerable<Breadboard.Kafka.PartitionLag> lag) =>
        [.. lag.Select(l => new Breadboard.Web.Api.BusPartitionLag(l.Topic, l.Partition, l.LagMessages, l.LagSeconds))];

    /// <summary>Makes sure the bus's topics exist (or, strict, that they do); an unreachable cluster is a one-line error.</summary>
    public static async Task EnsureTopicsAsync(ParseResult parse, Breadboard.Kafka.KafkaBusOptions options, CancellationToken cancellationToken)
    {
        try
        {
            await Breadboard.Kafka.KafkaTopics.EnsureAsync(options, cancellationToken);
        }
        catch (Breadboard.Kafka.KafkaSetupException e)
        {
            throw new SettingException($"{Seams.Bus.Describe(Seams.Bus.Resolve(parse))}: {e.Message}");
        }
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOf('\n', StringComparison.Ordinal);
        return end < 0 ? message : message[..end];
    }
}
