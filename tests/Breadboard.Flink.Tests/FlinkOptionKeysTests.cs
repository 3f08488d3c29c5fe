using System.Text.RegularExpressions;
using Breadboard.Core.Pipeline;

namespace Breadboard.Flink.Tests;

/// <summary>Every option the script sets is one Flink 1.20 and the Kafka connector 3.3.0 know, under its current name.</summary>
/// <remarks>
/// Flink ignores an unknown key in SET and a deprecated key only logs a warning, so a misspelt or renamed option would
/// silently not apply. The keys below were read in the sources, each named with where it is declared.
/// </remarks>
public class FlinkOptionKeysTests
{
    /// <summary>Keys of SET statements, from apache/flink (release 1.20).</summary>
    private static readonly Dictionary<string, string> ConfigurationKeys = new(StringComparer.Ordinal)
    {
        ["pipeline.name"] = "flink-core PipelineOptions.NAME",
        ["execution.runtime-mode"] = "flink-core ExecutionOptions.RUNTIME_MODE",
        ["parallelism.default"] = "flink-core CoreOptions.DEFAULT_PARALLELISM",
        ["execution.checkpointing.interval"] = "flink-core CheckpointingOptions.CHECKPOINTING_INTERVAL (ExecutionCheckpointingOptions before FLIP-406)",
        ["execution.checkpointing.mode"] = "flink-core CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE",
        ["execution.checkpointing.externalized-checkpoint-retention"] = "flink-core CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION",
        ["execution.checkpointing.incremental"] = "flink-core CheckpointingOptions.INCREMENTAL_CHECKPOINTS (deprecated key: state.backend.incremental)",
        ["state.backend.type"] = "flink-core StateBackendOptions.STATE_BACKEND",
        ["table.local-time-zone"] = "flink-table-api-java TableConfigOptions.LOCAL_TIME_ZONE",
        ["table.exec.source.idle-timeout"] = "flink-table-api-java ExecutionConfigOptions.TABLE_EXEC_SOURCE_IDLE_TIMEOUT",
    };

    /// <summary>Keys of the tables' WITH clauses.</summary>
    private static readonly Dictionary<string, string> TableKeys = new(StringComparer.Ordinal)
    {
        ["connector"] = "flink-table-common FactoryUtil.CONNECTOR",
        ["format"] = "flink-table-common FactoryUtil.FORMAT",
        ["key.format"] = "flink-table-common FactoryUtil.KEY_FORMAT",
        ["value.format"] = "flink-table-common FactoryUtil.VALUE_FORMAT",
        ["topic"] = "flink-connector-kafka 3.3.0 KafkaConnectorOptions.TOPIC",
        ["properties.bootstrap.servers"] = "flink-connector-kafka 3.3.0 KafkaConnectorOptions.PROPS_BOOTSTRAP_SERVERS",
        ["properties.group.id"] = "flink-connector-kafka 3.3.0 KafkaConnectorOptions.PROPS_GROUP_ID",
        ["properties.transaction.timeout.ms"] = "flink-connector-kafka 3.3.0 KafkaConnectorOptionsUtil: properties.* go to the Kafka client (transaction.timeout.ms)",
        ["scan.startup.mode"] = "flink-connector-kafka 3.3.0 KafkaConnectorOptions.SCAN_STARTUP_MODE",
        ["key.fields"] = "flink-connector-kafka 3.3.0 KafkaConnectorOptions.KEY_FIELDS",
        ["value.fields-include"] = "flink-connector-kafka 3.3.0 KafkaConnectorOptions.VALUE_FIELDS_INCLUDE",
        ["sink.delivery-guarantee"] = "flink-connector-kafka 3.3.0 KafkaConnectorOptions.DELIVERY_GUARANTEE",
        ["sink.transactional-id-prefix"] = "flink-connector-kafka 3.3.0 KafkaConnectorOptions.TRANSACTIONAL_ID_PREFIX",
        ["json.timestamp-format.standard"] = "flink-json JsonFormatOptions.TIMESTAMP_FORMAT (prefixed with the format name)",
        ["json.fail-on-missing-field"] = "flink-json JsonFormatOptions.FAIL_ON_MISSING_FIELD",
        ["json.ignore-parse-errors"] = "flink-json JsonFormatOptions.IGNORE_PARSE_ERRORS",
    };

    [Fact]
    public void Compile_EveryOptionKey_IsOneFlink120Knows()
    {
        var sql = FlinkSqlCompiler.Compile(PipelineDefinition.Default, new FlinkOptions { BootstrapServers = "kafka:9092" });

        var setKeys = Regex.Matches(sql, @"^SET '([^']+)'", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
        var withKeys = Regex.Matches(sql, @"^\s+'([^']+)' = ", RegexOptions.Multiline).Select(m => m.Groups[1].Value).Distinct().ToList();

        Assert.NotEmpty(setKeys);
        Assert.NotEmpty(withKeys);
        Assert.All(setKeys, k => Assert.True(ConfigurationKeys.ContainsKey(k), $"SET '{k}' is not a key read in Flink 1.20's sources"));
        Assert.All(withKeys, k => Assert.True(TableKeys.ContainsKey(k), $"'{k}' is not a table option read in the connector's or the format's sources"));
        Assert.DoesNotContain("state.backend.incremental", sql, StringComparison.Ordinal);
    }
}
