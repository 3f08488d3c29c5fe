using System.Globalization;
using Breadboard.Core.Seams;

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

    /// <summary>Malformed messages on the bars and alerts topics, found by the sink, with the reason in headers.</summary>
    public const string OutputDeadLetterTopic = "outputs-dlq";

    /// <summary>The processors' consumer group, as in the seed.</summary>
    public const string ProcessorGroup = "stream-processor";

    /// <summary>The sinks' consumer group (bars, alerts and ticks into the store).</summary>
    public const string SinkGroup = "breadboard-sink";

    public required string BootstrapServers { get; init; }

    /// <summary>Partitions of topics created when missing.</summary>
    public int Partitions { get; init; } = 6;

    /// <summary>Replication factor of topics created when missing.</summary>
    public short Replication { get; init; } = 3;

    /// <summary>Only verify that the topics exist; never create them.</summary>
    public bool Strict { get; init; }

    public static IReadOnlyList<string> TickTopics { get; } = [StockTopic, CryptoTopic];

    public static IReadOnlyList<string> AllTopics { get; } = [StockTopic, CryptoTopic, BarsTopic, AlertsTopic, DeadLetterTopic, OutputDeadLetterTopic];

    /// <summary>Reads a kafka:// URL; on failure <paramref name="error"/> says what is wrong in one line.</summary>
    public static bool TryParse(string url, out KafkaBusOptions? options, out string error)
    {
        ArgumentNullException.ThrowIfNull(url);
        options = null;
        if (!ServerListUrl.TryParse(url, Scheme, "broker", out var servers, out var pairs, out error))
        {
            return false;
        }

        var result = new KafkaBusOptions { BootstrapServers = string.Join(',', servers) };
        foreach (var (key, value) in pairs)
        {
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
                    error = $"bad option '{key}={(SecretText.IsSecretKey(key) ? SecretText.Mask : value)}'; allowed: partitions=1..10000, replication=1..32, strict=true|false";
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
