using System.Text.RegularExpressions;
using Breadboard.Core.Pipeline;
using Breadboard.Flink;

namespace Breadboard.Deploy.Tests;

/// <summary>The Flink image the manifest runs is the one deploy/docker/flink/Dockerfile builds, for the Flink the compiler targets.</summary>
public partial class FlinkImageTests
{
    private static readonly FlinkOptions Options = new() { BootstrapServers = "breadboard-kafka-kafka-bootstrap:9092" };

    [Fact]
    public async Task Containers_UseTheImageTheDockerfileDocumentsBuilding()
    {
        var dockerfile = await DeployFiles.ReadAsync(DeployFiles.FlinkDockerfile);
        var manifest = await DeployFiles.FlinkManifestAsync();

        // The Dockerfile names its tag in the build command it documents: docker build -t breadboard-flink:1.20 ...
        var built = BuildTag().Match(dockerfile);
        Assert.True(built.Success, "the Dockerfile documents no `docker build -t IMAGE` line");
        var images = manifest.OfKind("Deployment").SelectMany(d => d.Containers()).Select(c => c.Text("image")).Distinct();

        Assert.Equal([built.Groups["image"].Value], images);
        Assert.Equal($"breadboard-flink:{FlinkSqlCompiler.TargetFlinkVersion}", built.Groups["image"].Value);
    }

    [Fact]
    public async Task Dockerfile_BaseImage_IsTheOfficialJava17ImageOfTheFlinkLineTheCompilerTargets()
    {
        var dockerfile = await DeployFiles.ReadAsync(DeployFiles.FlinkDockerfile);

        var from = DockerfileArg(dockerfile, "FLINK_IMAGE");
        Assert.Contains("FROM ${FLINK_IMAGE}", dockerfile, StringComparison.Ordinal);
        Assert.Matches($@"^flink:{Regex.Escape(FlinkSqlCompiler.TargetFlinkVersion)}\.\d+-scala_2\.12-java17$", from);
    }

    [Fact]
    public async Task Dockerfile_KafkaConnectorVersion_IsTheOneTheCompiledScriptNames()
    {
        var dockerfile = await DeployFiles.ReadAsync(DeployFiles.FlinkDockerfile);
        var script = FlinkSqlCompiler.Compile(PipelineDefinition.Default, Options);

        var named = ConnectorInHeader().Match(script);
        Assert.True(named.Success, "the compiled script's header names no flink-sql-connector-kafka version");
        Assert.Equal(named.Groups["version"].Value, DockerfileArg(dockerfile, "KAFKA_CONNECTOR_VERSION"));
        // ... and the connector line is built for the same Flink line (3.3.0-1.20 is for 1.20).
        Assert.EndsWith($"-{FlinkSqlCompiler.TargetFlinkVersion}", named.Groups["version"].Value, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dockerfile_PutsTheConnectorInFlinkLibFromMavenCentralWithAChecksum()
    {
        var dockerfile = await DeployFiles.ReadAsync(DeployFiles.FlinkDockerfile);

        Assert.Contains("https://repo1.maven.org/maven2/org/apache/flink/flink-sql-connector-kafka/${KAFKA_CONNECTOR_VERSION}/", dockerfile, StringComparison.Ordinal);
        Assert.Contains("/opt/flink/lib/${jar}", dockerfile, StringComparison.Ordinal);
        Assert.Contains("sha1sum -c -", dockerfile, StringComparison.Ordinal);
        Assert.Contains("sha512sum -c -", dockerfile, StringComparison.Ordinal);
    }

    [Theory]
    // The script's SETs win over the cluster's config.yaml; they must not contradict it.
    [InlineData("state.backend.type", "state.backend.type")]
    [InlineData("execution.checkpointing.externalized-checkpoint-retention", "execution.checkpointing.externalized-checkpoint-retention")]
    [InlineData("execution.checkpointing.mode", "execution.checkpointing.mode")]
    [InlineData("execution.checkpointing.incremental", "execution.checkpointing.incremental")]
    public async Task CompiledScript_CheckpointSetting_AgreesWithTheClusterConfig(string scriptKey, string configKey)
    {
        var config = DeployFiles.FlinkConfig(await DeployFiles.FlinkManifestAsync());
        var script = FlinkSqlCompiler.Compile(PipelineDefinition.Default, Options);

        var set = Regex.Match(script, $@"^SET '{Regex.Escape(scriptKey)}' = '(?<value>[^']*)';$", RegexOptions.Multiline);
        Assert.True(set.Success, $"the compiled script does not SET '{scriptKey}'");
        Assert.Equal(config[configKey], set.Groups["value"].Value);
    }

    private static string DockerfileArg(string dockerfile, string name)
    {
        var arg = Regex.Match(dockerfile, $@"^ARG {Regex.Escape(name)}=(?<value>\S+)\s*$", RegexOptions.Multiline);
        Assert.True(arg.Success, $"the Dockerfile has no ARG {name}=...");
        return arg.Groups["value"].Value;
    }

    [GeneratedRegex(@"docker build -t (?<image>\S+) deploy/docker/flink")]
    private static partial Regex BuildTag();

    [GeneratedRegex(@"^-- .*flink-sql-connector-kafka (?<version>\d+\.\d+\.\d+-\d+\.\d+)", RegexOptions.Multiline)]
    private static partial Regex ConnectorInHeader();
}
