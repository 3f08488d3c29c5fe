using System.Globalization;

namespace Breadboard.Kafka;

/// <summary>The Kafka bus as configured by <c>--bus kafka://host:port[,host:port…][?partitions=6&amp;replication=3&amp;strict=true]</c>.</summary>
public sealed record KafkaBusOptions
{
    public const string Scheme = "kafka://";

    /// <summary>Topic of stock ticks, keyed by symbol.</summary>
    public const string StockTopic = "stock-prices";

    /// <summary>Topic of crypto ticks, keyed by symbol.</summary>
    public const string CryptoTopic = "crypto-prices";

    public const string BarsTopic = "bars";

    public const string AlertsTopic = "alerts";

    /// <summary>Malformed tick messages, with the reason in headers.</summary>
    public const string DeadLetterTopic = "ticks-dlq";

    /// <summary>The processors' consumer group, as in the seed.</summary>
    public const string ProcessorGroup = "stream-processor";

    public required string BootstrapServers { get; init; }

    /// <summary>Partitions of topics created when missing.</summary>
    public int Partitions { get; init; } = 6;

    /// <summary>Replication factor of topics created when missing.</summary>
    public short Replication { get; init; } = 3;

    /// <summary>Only verify that the topics exist; never create them.</summary>
    public bool Strict { get; init; }

    public static IReadOnlyList<string> TickTopics { get; } = [StockTopic, CryptoTopic];

    public static IReadOnlyList<string> AllTopics { get; } = [StockTopic, CryptoTopic, BarsTopic, AlertsTopic, DeadLetterTopic];

    /// <summary>Reads a kafka:// URL; on failure <paramref name="error"/> says what is wrong in one line.</summary>
    public static bool TryParse(string url, out KafkaBusOptions? options, out string error)
    {
        ArgumentNullException.ThrowIfNull(url);
        options = null;
        error = "";
        if (!url.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            error = "expected kafka://host:port[,host:port…]";
            return false;
        }

        var rest = url[Scheme.Length..];
        var query = "";
        var q = rest.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }

        var servers = rest.TrimEnd('/').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (servers.Length == 0)
        {
            error = "names no broker; expected kafka://host:port[,host:port…]";
            return false;
        }

        foreach (var server in servers)
        {
            var colon = server.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(server[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                error = $"'{server}' is not host:port";
                return false;
            }
        }

        var result = new KafkaBusOptions { BootstrapServers = string.Join(',', servers) };
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? pair : pair[..eq];
            var value = eq < 0 ? "" : pair[(eq + 1)..];
            switch (key)
            {
                case "partitions" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is >= 1 and <= 10_000:
                    result = result with { Partitions = p };
                    break;
                case "replication" when short.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var r) && r is >= 1 and <= 32:
                    result = result with { Replication = r };
                    break;
                case "strict" when bool.TryParse(value, out var strict):
                    result = result with { Strict = strict };
                    break;
                default:
                    error = $"bad option '{pair}'; allowed: partitions=1..10000, replication=1..32, strict=true|false";
                    return false;
            }
        }

        options = result;
        return true;
    }

    /// <summary>The tick topic of an asset class.</summary>
    public static string TopicOf(Core.Model.AssetClass assetClass) =>
        assetClass == Core.Model.AssetClass.Crypto ? CryptoTopic : StockTopic;
}
