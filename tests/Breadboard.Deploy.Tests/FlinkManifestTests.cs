using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Breadboard.Deploy.Tests;

/// <summary>deploy/k8s/flink.yaml parses and its parts refer to each other consistently.</summary>
public class FlinkManifestTests
{
    private const string CheckpointVolume = "flink-checkpoints";

    [Fact]
    public async Task FlinkYaml_EveryDocument_HasApiVersionKindAndName()
    {
        var manifest = await DeployFiles.FlinkManifestAsync();

        Assert.NotEmpty(manifest);
        Assert.All(manifest, d =>
        {
            Assert.False(string.IsNullOrWhiteSpace(d.Text("apiVersion")));
            Assert.False(string.IsNullOrWhiteSpace(d.Text("kind")));
            Assert.False(string.IsNullOrWhiteSpace(d.Map("metadata").Text("name")));
            Assert.Equal("breadboard", d.Map("metadata").Map("labels").Text("app.kubernetes.io/part-of"));
        });
    }

    [Fact]
    public async Task FlinkYaml_DefinesTheSessionClusterPieces()
    {
        var manifest = await DeployFiles.FlinkManifestAsync();
        var kindsAndNames = manifest.Select(d => $"{d.Text("kind")}/{d.Map("metadata").Text("name")}").Order().ToList();

        Assert.Equal(
            [
                "ConfigMap/flink-config",
                "Deployment/flink-jobmanager", "Deployment/flink-sql-gateway", "Deployment/flink-taskmanager",
                "Job/flink-deploy",
                "PersistentVolumeClaim/flink-checkpoints",
                "Service/flink-jobmanager", "Service/flink-sql-gateway",
            ],
            kindsAndNames);
    }

    [Fact]
    public async Task FlinkConfig_ConfigYaml_SetsRocksDbIncrementalRetainedCheckpointsAndSlots()
    {
        var config = DeployFiles.FlinkConfig(await DeployFiles.FlinkManifestAsync());

        Assert.Equal("rocksdb", config["state.backend.type"]);
        Assert.Equal("true", config["execution.checkpointing.incremental"]);
        Assert.Equal("filesystem", config["execution.checkpointing.storage"]);
        Assert.StartsWith("file:///", config["execution.checkpointing.dir"], StringComparison.Ordinal);
        Assert.StartsWith("file:///", config["execution.checkpointing.savepoint-dir"], StringComparison.Ordinal);
        Assert.Equal("RETAIN_ON_CANCELLATION", config["execution.checkpointing.externalized-checkpoint-retention"]);
        Assert.True(int.Parse(config["taskmanager.numberOfTaskSlots"], CultureInfo.InvariantCulture) >= 1);
        Assert.Equal("2", config["parallelism.default"]);
    }

    [Theory]
    // Deprecated in 1.20 (FLIP-406) or earlier; the config uses the current names, listed in its comments.
    [InlineData("state.backend")]
    [InlineData("state.backend.incremental")]
    [InlineData("state.checkpoint-storage")]
    [InlineData("state.checkpoints.dir")]
    [InlineData("state.savepoints.dir")]
    [InlineData("state.checkpoints.num-retained")]
    [InlineData("restart-strategy")]
    public async Task FlinkConfig_ConfigYaml_DoesNotUseDeprecatedKey(string deprecatedKey)
    {
        var config = DeployFiles.FlinkConfig(await DeployFiles.FlinkManifestAsync());

        Assert.DoesNotContain(deprecatedKey, config.Keys);
    }

    [Fact]
    public async Task FlinkConfig_CheckpointAndSavepointDirs_AreOnTheSharedVolumeMountedAtTheSamePathInJobManagerAndTaskManagers()
    {
        var manifest = await DeployFiles.FlinkManifestAsync();
        var config = DeployFiles.FlinkConfig(manifest);

        var claim = manifest.Named("PersistentVolumeClaim", CheckpointVolume);
        Assert.Contains("ReadWriteMany", claim.Map("spec").Seq("accessModes").Select(n => ((YamlScalarNode)n).Value));

        var mountPaths = new[] { "flink-jobmanager", "flink-taskmanager" }
            .Select(name => CheckpointMountPath(manifest.Named("Deployment", name)))
            .Distinct()
            .ToList();
        var mountPath = Assert.Single(mountPaths);

        Assert.StartsWith($"file://{mountPath}/", config["execution.checkpointing.dir"], StringComparison.Ordinal);
        Assert.StartsWith($"file://{mountPath}/", config["execution.checkpointing.savepoint-dir"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task TaskManagerDeployment_HasTwoReplicas()
    {
        var manifest = await DeployFiles.FlinkManifestAsync();

        Assert.Equal("2", manifest.Named("Deployment", "flink-taskmanager").Map("spec").Text("replicas"));
        Assert.Equal("1", manifest.Named("Deployment", "flink-jobmanager").Map("spec").Text("replicas"));
    }

    [Fact]
    public async Task Deployments_ReferenceOnlyConfigMapsAndClaimsDefinedInTheFile()
    {
        var manifest = await DeployFiles.FlinkManifestAsync();

        foreach (var deployment in manifest.OfKind("Deployment"))
        {
            var podSpec = deployment.Map("spec").Map("template").Map("spec");
            var volumes = podSpec.Seq("volumes").Cast<YamlMappingNode>().ToList();
            foreach (var volume in volumes)
            {
                if (volume.Get("configMap") is YamlMappingNode configMapRef)
                {
                    var data = manifest.Named("ConfigMap", configMapRef.Text("name")!).Map("data");
                    foreach (var item in configMapRef.Seq("items").Cast<YamlMappingNode>())
                    {
                        Assert.NotNull(data.Get(item.Text("key")!));
                    }
                }
                else
                {
                    var claimName = volume.Map("persistentVolumeClaim").Text("claimName")!;
                    manifest.Named("PersistentVolumeClaim", claimName);
                }
            }

            var volumeNames = volumes.Select(v => v.Text("name")).ToHashSet();
            Assert.All(
                deployment.Containers().SelectMany(c => c.Seq("volumeMounts").Cast<YamlMappingNode>()),
                mount => Assert.Contains(mount.Text("name"), volumeNames));
        }
    }

    [Fact]
    public async Task ServiceNames_UsedAsAddresses_AreServicesDefinedInTheFile()
    {
        var manifest = await DeployFiles.FlinkManifestAsync();
        var config = DeployFiles.FlinkConfig(manifest);
        var services = manifest.OfKind("Service").Select(s => s.Map("metadata").Text("name")).ToHashSet();

        Assert.Contains(config["jobmanager.rpc.address"], services);
        Assert.Contains(config["rest.address"], services);

        var envAddresses = manifest.OfKind("Deployment")
            .SelectMany(d => d.Containers())
            .SelectMany(c => c.Get("env") is YamlSequenceNode env ? env.Cast<YamlMappingNode>() : [])
            .Where(e => e.Text("name") == "JOB_MANAGER_RPC_ADDRESS")
            .Select(e => e.Text("value"))
            .ToList();
        Assert.NotEmpty(envAddresses);
        Assert.All(envAddresses, a => Assert.Equal(config["jobmanager.rpc.address"], a));

        var gateway = Assert.Single(manifest.Named("Deployment", "flink-sql-gateway").Containers());
        Assert.Contains(DynamicOption(gateway, "sql-gateway.endpoint.rest.address"), services);
    }

    [Fact]
    public async Task SqlGateway_ListensOnAllInterfacesOnTheServicePort()
    {
        var manifest = await DeployFiles.FlinkManifestAsync();
        var gateway = Assert.Single(manifest.Named("Deployment", "flink-sql-gateway").Containers());

        Assert.Equal(["/opt/flink/bin/sql-gateway.sh", "start-foreground"], gateway.Seq("command").Take(2).Select(n => ((YamlScalarNode)n).Value));
        Assert.Equal("0.0.0.0", DynamicOption(gateway, "sql-gateway.endpoint.rest.bind-address"));
        var port = DynamicOption(gateway, "sql-gateway.endpoint.rest.port");
        Assert.Equal(port, ServicePort(manifest.Named("Service", "flink-sql-gateway"), "rest"));
        Assert.Equal("8083", port);
    }

    [Fact]
    public async Task Containers_AllHaveResourceRequestsAndLimitsAndBothProbes()
    {
        var manifest = await DeployFiles.FlinkManifestAsync();
        var containers = manifest.OfKind("Deployment").SelectMany(d => d.Containers()).ToList();

        Assert.Equal(3, containers.Count);
        Assert.All(containers, c =>
        {
            var resources = c.Map("resources");
            foreach (var section in new[] { "requests", "limits" })
            {
                Assert.False(string.IsNullOrEmpty(resources.Map(section).Text("cpu")), $"{c.Text("name")}: {section}.cpu");
                Assert.False(string.IsNullOrEmpty(resources.Map(section).Text("memory")), $"{c.Text("name")}: {section}.memory");
            }

            Assert.NotNull(c.Get("readinessProbe"));
            Assert.NotNull(c.Get("livenessProbe"));
        });
    }

    [Fact]
    public async Task Probes_CheckPortsTheContainerDeclares()
    {
        var manifest = await DeployFiles.FlinkManifestAsync();

        foreach (var container in manifest.OfKind("Deployment").SelectMany(d => d.Containers()))
        {
            var declared = container.Seq("ports").Cast<YamlMappingNode>().Select(p => p.Text("containerPort")).ToHashSet();
            foreach (var probeName in new[] { "readinessProbe", "livenessProbe" })
            {
                var probe = container.Map(probeName);
                var action = (probe.Get("httpGet") ?? probe.Get("tcpSocket")) as YamlMappingNode;
                Assert.NotNull(action);
                Assert.Contains(action.Text("port"), declared);
            }
        }
    }

    [Fact]
    public async Task JobManagerProbe_ReadsTheRestOverviewOnTheConfiguredRestPort()
    {
        var manifest = await DeployFiles.FlinkManifestAsync();
        var config = DeployFiles.FlinkConfig(manifest);
        var jobManager = Assert.Single(manifest.Named("Deployment", "flink-jobmanager").Containers());

        var http = jobManager.Map("readinessProbe").Map("httpGet");
        Assert.Equal("/overview", http.Text("path"));
        Assert.Equal(config["rest.port"], http.Text("port"));
    }

    [Fact]
    public async Task Containers_RunAsTheFlinkImageUser()
    {
        var manifest = await DeployFiles.FlinkManifestAsync();

        Assert.All(manifest.OfKind("Deployment"), d =>
        {
            var podSecurity = d.Map("spec").Map("template").Map("spec").Map("securityContext");
            Assert.Equal("9999", podSecurity.Text("runAsUser"));
            Assert.Equal("true", podSecurity.Text("runAsNonRoot"));
            Assert.All(d.Containers(), c => Assert.Equal("false", c.Map("securityContext").Text("allowPrivilegeEscalation")));
        });
    }

    [Fact]
    public async Task Services_SelectorsMatchExactlyOneDeploymentsPodLabels()
    {
        var manifest = await DeployFiles.FlinkManifestAsync();
        var deployments = manifest.OfKind("Deployment").ToList();

        foreach (var deployment in deployments)
        {
            var spec = deployment.Map("spec");
            var podLabels = spec.Map("template").Map("metadata").Map("labels").Labels();
            Assert.True(Selects(spec.Map("selector").Map("matchLabels").Labels(), podLabels), $"{deployment.Map("metadata").Text("name")}: selector vs pod labels");
        }

        foreach (var service in manifest.OfKind("Service"))
        {
            var name = service.Map("metadata").Text("name");
            var selector = service.Map("spec").Map("selector").Labels();
            var selected = Assert.Single(deployments, d => Selects(selector, d.Map("spec").Map("template").Map("metadata").Map("labels").Labels()));
            Assert.Equal(name, selected.Map("metadata").Text("name"));

            var containerPorts = selected.Containers().SelectMany(c => c.Seq("ports").Cast<YamlMappingNode>()).Select(p => p.Text("containerPort")).ToHashSet();
            Assert.All(service.Map("spec").Seq("ports").Cast<YamlMappingNode>(), p => Assert.Contains(p.Text("targetPort"), containerPorts));
        }
    }

    [Fact]
    public async Task JobManagerService_ExposesTheRpcBlobAndRestPortsOfTheConfig()
    {
        var manifest = await DeployFiles.FlinkManifestAsync();
        var config = DeployFiles.FlinkConfig(manifest);
        var service = manifest.Named("Service", "flink-jobmanager");

        Assert.Equal(config["jobmanager.rpc.port"], ServicePort(service, "rpc"));
        Assert.Equal(config["blob.server.port"], ServicePort(service, "blob-server"));
        Assert.Equal(config["rest.port"], ServicePort(service, "rest"));
        Assert.Equal(["6123", "6124", "8081"], new[] { "rpc", "blob-server", "rest" }.Select(n => ServicePort(service, n)));

        var taskManager = Assert.Single(manifest.Named("Deployment", "flink-taskmanager").Containers());
        Assert.Contains(config["taskmanager.rpc.port"], taskManager.Seq("ports").Cast<YamlMappingNode>().Select(p => p.Text("containerPort")));
    }

    [Theory]
    [InlineData("flink-jobmanager", "jobmanager.memory.process.size")]
    [InlineData("flink-taskmanager", "taskmanager.memory.process.size")]
    public async Task ProcessMemory_EqualsTheContainersMemoryLimit(string deploymentName, string key)
    {
        var manifest = await DeployFiles.FlinkManifestAsync();
        var config = DeployFiles.FlinkConfig(manifest);
        var container = Assert.Single(manifest.Named("Deployment", deploymentName).Containers());

        // Flink's "m" is mebibytes, as Kubernetes' "Mi".
        Assert.EndsWith("m", config[key], StringComparison.Ordinal);
        Assert.Equal(config[key].TrimEnd('m') + "Mi", container.Map("resources").Map("limits").Text("memory"));
    }

    private static string CheckpointMountPath(YamlMappingNode deployment)
    {
        var volume = Assert.Single(
            deployment.Map("spec").Map("template").Map("spec").Seq("volumes").Cast<YamlMappingNode>(),
            v => v.Get("persistentVolumeClaim") is YamlMappingNode pvc && pvc.Text("claimName") == CheckpointVolume);
        var mount = Assert.Single(
            deployment.Containers().SelectMany(c => c.Seq("volumeMounts").Cast<YamlMappingNode>()),
            m => m.Text("name") == volume.Text("name"));
        return mount.Text("mountPath")!;
    }

    private static string DynamicOption(YamlMappingNode container, string key)
    {
        var prefix = $"-D{key}=";
        var arg = Assert.Single(container.Seq("command").Select(n => ((YamlScalarNode)n).Value!), a => a.StartsWith(prefix, StringComparison.Ordinal));
        return arg[prefix.Length..];
    }

    private static string? ServicePort(YamlMappingNode service, string portName) =>
        Assert.Single(service.Map("spec").Seq("ports").Cast<YamlMappingNode>(), p => p.Text("name") == portName).Text("port");

    private static bool Selects(IReadOnlyDictionary<string, string> selector, IReadOnlyDictionary<string, string> labels) =>
        selector.Count > 0 && selector.All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value);
}
