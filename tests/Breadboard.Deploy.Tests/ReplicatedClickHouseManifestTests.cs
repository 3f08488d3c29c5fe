using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Breadboard.ClickHouse;
using Breadboard.TestKit;
using Breadboard.TestKit.ClickHouse;
using YamlDotNet.RepresentationModel;

namespace Breadboard.Deploy.Tests;

/// <summary>
/// deploy/k8s/clickhouse-replicated.yml gives the servers the same replication settings as the test cluster
/// (<see cref="ClickHouseClusterProcess"/>), in Kubernetes names, and the product's own URL parser and DDL agree with
/// them; the Tiltfile loads it only with <c>--clickhouse replicated</c>.
/// </summary>
public partial class ReplicatedClickHouseManifestTests
{
    private const string Manifest = Manifests.Directory + "/clickhouse-replicated.yml";

    [Fact]
    public async Task EveryDocument_Parses_IntoTheObjectsOfTheLayout()
    {
        var manifest = await ManifestAsync();

        Assert.Equal(
            [
                "ConfigMap/clickhouse-cluster", "Job/clickhouse-migrate", "PodDisruptionBudget/clickhouse", "PodDisruptionBudget/zookeeper",
                "Service/clickhouse", "Service/zookeeper", "StatefulSet/clickhouse", "StatefulSet/zookeeper",
            ],
            manifest.Select(d => $"{d.Text("kind")}/{d.Name()}").Order(StringComparer.Ordinal));
        Assert.All(manifest, d => Assert.Equal("breadboard", d.Map("metadata").Map("labels").Text("app.kubernetes.io/part-of")));
        Assert.Equal("clickhouse", ServerConfig(manifest).Name.LocalName);
    }

    [Fact]
    public async Task StatefulSets_RunThreeOfEach_NamedThroughAHeadlessService_WithAClaimPerPod()
    {
        var manifest = await ManifestAsync();
        var single = DeployFiles.ParseDocuments(await DeployFiles.ReadAsync($"{Manifests.Directory}/clickhouse.yml")).Named("StatefulSet", "clickhouse");

        foreach (var name in new[] { "clickhouse", "zookeeper" })
        {
            var set = manifest.Named("StatefulSet", name);
            Assert.Equal("3", set.Map("spec").Text("replicas"));

            // Peers must resolve each other before any is ready (a ZooKeeper is ready only in a quorum).
            Assert.Equal("Parallel", set.Map("spec").Text("podManagementPolicy"));
            var service = manifest.Named("Service", set.Map("spec").Text("serviceName")!).Map("spec");
            Assert.Equal("None", service.Text("clusterIP"));
            Assert.Equal("true", service.Text("publishNotReadyAddresses"));
            Assert.True(Selects(service.Map("selector"), set), $"Service {name} does not select the pods of StatefulSet {name}");

            var claim = Assert.Single(set.Map("spec").Items("volumeClaimTemplates")).Name();
            Assert.Contains(Container(set).Items("volumeMounts"), m => m.Text("name") == claim);
        }

        Assert.Equal(Assert.Single(single.Containers()).Text("image"), Container(manifest.Named("StatefulSet", "clickhouse")).Text("image"));
        Assert.Equal("zookeeper:3.8", Container(manifest.Named("StatefulSet", "zookeeper")).Text("image"));
    }

    [Fact]
    public async Task Cluster_ListsEveryReplicaByItsStableName_OnTheServersTcpPort()
    {
        var manifest = await ManifestAsync();
        var config = ServerConfig(manifest);
        var clickHouse = manifest.Named("StatefulSet", "clickhouse");
        var env = Env(Container(clickHouse));

        var cluster = Assert.Single(config.Element("remote_servers")!.Elements());
        Assert.Equal(ClickHouseClusterProcess.Cluster, cluster.Name.LocalName);
        var shard = Assert.Single(cluster.Elements("shard"));
        Assert.Equal("true", shard.Element("internal_replication")?.Value);
        var replicas = shard.Elements("replica").ToList();
        Assert.Equal(StableNames(clickHouse), replicas.Select(r => r.Element("host")?.Value));
        Assert.All(replicas, r => Assert.Equal(config.Element("tcp_port")?.Value, r.Element("port")?.Value));
        Assert.Equal(config.Element("tcp_port")?.Value, Port(Container(clickHouse), "native"));

        // With CLICKHOUSE_USER set the image removes `default`: replicas query each other as the store's user.
        Assert.All(replicas, r =>
        {
            Assert.Equal(env["CLICKHOUSE_USER"].Text("value"), r.Element("user")?.Value);
            Assert.Equal("CLICKHOUSE_PASSWORD", r.Element("password")?.Attribute("from_env")?.Value);
        });
        Assert.NotNull(env["CLICKHOUSE_PASSWORD"].Map("valueFrom").Map("secretKeyRef").Text("key"));
    }

    [Fact]
    public async Task Macros_GiveShard01AndEachPodItsOwnReplica_WhoseInterserverHostIsItsStableName()
    {
        var manifest = await ManifestAsync();
        var config = ServerConfig(manifest);
        var clickHouse = manifest.Named("StatefulSet", "clickhouse");
        var macros = config.Element("macros")!;

        Assert.Equal(["replica", "shard"], macros.Elements().Select(e => e.Name.LocalName).Order(StringComparer.Ordinal));
        Assert.Equal(ClickHouseClusterProcess.Shard, macros.Element("shard")!.Value);
        var pods = PodNames(clickHouse);
        var replicas = pods.Select(pod => Value(macros.Element("replica")!, PodEnvironment(Container(clickHouse), pod))).ToList();
        var interserverHosts = pods.Select(pod => Value(config.Element("interserver_http_host")!, PodEnvironment(Container(clickHouse), pod))).ToList();

        Assert.Equal(pods, replicas);
        Assert.Equal(pods.Count, replicas.Distinct().Count());
        Assert.Equal(StableNames(clickHouse), interserverHosts);
        Assert.Equal(config.Element("interserver_http_port")?.Value, Port(Container(clickHouse), "interserver"));
    }

    [Fact]
    public async Task ZooKeeperNodes_AreTheEnsemblesPods_OnItsClientPort_AndEachServerHasItsLine()
    {
        var manifest = await ManifestAsync();
        var zooKeeper = manifest.Named("StatefulSet", "zookeeper");
        var container = Container(zooKeeper);
        var client = Port(container, "client");

        var nodes = ServerConfig(manifest).Element("zookeeper")!.Elements("node").ToList();
        Assert.Equal(StableNames(zooKeeper), nodes.Select(n => n.Element("host")?.Value));
        Assert.All(nodes, n => Assert.Equal(client, n.Element("port")?.Value));
        Assert.Contains(manifest.Named("Service", "zookeeper").Map("spec").Items("ports"), p => p.Text("port") == client && p.Text("targetPort") == client);

        // server.<id>=<host>:<follower port>:<election port>;<client port>, ids from 1 in pod order.
        var servers = Env(container)["ZOO_SERVERS"].Text("value")!.Split(' ');
        Assert.Equal(
            StableNames(zooKeeper).Select((host, i) => string.Create(CultureInfo.InvariantCulture, $"server.{i + 1}={host}:{Port(container, "follower")}:{Port(container, "election")};{client}")),
            servers);
    }

    [Fact]
    [Slow] // runs bash
    public async Task ZooKeeperStart_GivesEachPodTheIdOfItsLineInZooServers()
    {
        var manifest = await ManifestAsync();
        var zooKeeper = manifest.Named("StatefulSet", "zookeeper");
        var command = Container(zooKeeper).Seq("command").Cast<YamlScalarNode>().Select(c => c.Value!).ToList();
        const string Start = "exec /docker-entrypoint.sh zkServer.sh start-foreground";

        Assert.Equal(["bash", "-c"], command.Take(2));
        Assert.Contains(Start, command[2], StringComparison.Ordinal);
        var pods = PodNames(zooKeeper);
        for (var i = 0; i < pods.Count; i++)
        {
            // The script as the pod runs it, printing the id instead of starting the image's entrypoint.
            var info = new ProcessStartInfo("bash", ["-c", command[2].Replace(Start, "echo \"$ZOO_MY_ID\"", StringComparison.Ordinal)]) { RedirectStandardOutput = true };
            info.Environment["HOSTNAME"] = pods[i];
            using var bash = Process.Start(info)!;
            var id = await bash.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            await bash.WaitForExitAsync(TestContext.Current.CancellationToken);

            Assert.Equal(0, bash.ExitCode);
            Assert.Equal((i + 1).ToString(CultureInfo.InvariantCulture), id.Trim());
        }
    }

    [Fact]
    public async Task MigrateJob_StoreUrl_NamesEveryReplicaAndTheCluster_AsTheProductParsesIt()
    {
        var manifest = await ManifestAsync();
        var config = ServerConfig(manifest);
        var clickHouse = Container(manifest.Named("StatefulSet", "clickhouse"));
        var env = Env(clickHouse);
        var job = manifest.Named("Job", "clickhouse-migrate");
        var container = Container(job);

        var url = MigrateUrl(manifest);
        Assert.Equal(["store", "migrate", "--store"], container.Args().Take(3));
        Assert.Equal(Assert.Single(config.Element("remote_servers")!.Elements()).Name.LocalName, url.Cluster);
        Assert.Equal(config.Element("http_port")?.Value, Port(clickHouse, "http"));
        Assert.Equal(
            StableNames(manifest.Named("StatefulSet", "clickhouse")).Select(host => $"http://{host}:{config.Element("http_port")!.Value}/"),
            url.Replicas.Select(r => r.ToString()));
        Assert.Equal(env["CLICKHOUSE_DB"].Text("value"), url.Database);
        Assert.Equal(env["CLICKHOUSE_USER"].Text("value"), url.User);

        // The password the product reads is the one the servers were given, from the same Secret.
        var password = env["CLICKHOUSE_PASSWORD"].Map("valueFrom").Map("secretKeyRef");
        Assert.Equal(ClickHouseUrl.PasswordVariable, password.Text("key"));
        Assert.Contains(container.Items("envFrom"), e => (e.Get("secretRef") as YamlMappingNode)?.Text("name") == password.Text("name"));
        Assert.Equal(Manifests.BreadboardImage, container.Text("image"));

        // ON CLUSTER DDL fails until ZooKeeper and all three replicas are up; with Kubernetes' back-off doubling from
        // 10 s, six retries span more than ten minutes of the cluster coming up.
        Assert.Equal("OnFailure", job.PodSpec().Text("restartPolicy"));
        Assert.True(int.Parse(job.Map("spec").Text("backoffLimit")!, CultureInfo.InvariantCulture) >= 6, "the Job gives up before the cluster can be up");
    }

    [Fact]
    public async Task ReplicatedDdl_UsesOnlyTheMacrosTheServersDefine_OnTheirCluster()
    {
        var manifest = await ManifestAsync();
        var url = MigrateUrl(manifest);
        var defined = ServerConfig(manifest).Element("macros")!.Elements().Select(e => e.Name.LocalName).ToHashSet();

        var statements = ClickHouseSchema.Statements(url.Database, url.Cluster);
        var used = statements.SelectMany(s => Macro().Matches(s)).Select(m => m.Groups["name"].Value).ToHashSet();

        Assert.Equal(["replica", "shard"], used.Order(StringComparer.Ordinal));
        Assert.Subset(defined, used);
        Assert.All(statements.Where(s => s.StartsWith("CREATE", StringComparison.Ordinal)), s => Assert.Contains($" ON CLUSTER {url.Cluster}", s, StringComparison.Ordinal));
    }

    [Fact]
    public async Task EachStatefulSet_HasProbes_ADisruptionBudgetOfOne_AndSpreadsOverNodes()
    {
        var manifest = await ManifestAsync();

        foreach (var name in new[] { "clickhouse", "zookeeper" })
        {
            var set = manifest.Named("StatefulSet", name);
            var budget = Assert.Single(manifest.OfKind("PodDisruptionBudget"), b => Selects(b.Map("spec").Map("selector").Map("matchLabels"), set));
            Assert.Equal("1", budget.Map("spec").Text("maxUnavailable"));

            var term = Assert.Single(set.PodSpec().Map("affinity").Map("podAntiAffinity").Items("preferredDuringSchedulingIgnoredDuringExecution")).Map("podAffinityTerm");
            Assert.Equal("kubernetes.io/hostname", term.Text("topologyKey"));
            Assert.True(Selects(term.Map("labelSelector").Map("matchLabels"), set), $"{name}: the anti-affinity does not name its own pods");
            Assert.NotNull(Container(set).Get("livenessProbe"));
        }

        var clickHouse = Container(manifest.Named("StatefulSet", "clickhouse"));
        var ping = clickHouse.Map("readinessProbe").Map("httpGet");
        Assert.Equal("/ping", ping.Text("path"));
        Assert.Equal(Port(clickHouse, "http"), ping.Text("port"));
        var status = Container(manifest.Named("StatefulSet", "zookeeper")).Map("readinessProbe").Map("exec").Seq("command");
        Assert.Equal(["zkServer.sh", "status"], status.Cast<YamlScalarNode>().Select(c => c.Value));
    }

    [Fact]
    [Slow] // runs python3
    public async Task Tiltfile_LoadsTheReplicatedManifest_OnlyWithItsFlag_AndGivesTheRolesTheJobsUrl()
    {
        var manifest = await ManifestAsync();
        var config = (await Manifests.AllAsync()).Data("ConfigMap", "breadboard-config");

        var single = await RunTiltfileAsync(new());
        var replicated = await RunTiltfileAsync(new() { ["clickhouse"] = "replicated" });

        Assert.Contains($"{Manifests.Directory}/clickhouse.yml", single.Files);
        Assert.DoesNotContain(Manifest, single.Files);
        Assert.Equal(config["BREADBOARD_STORE"], single.Store);
        Assert.DoesNotContain("zookeeper", single.Resources);

        Assert.Contains(Manifest, replicated.Files);
        Assert.DoesNotContain($"{Manifests.Directory}/clickhouse.yml", replicated.Files);
        Assert.Equal(Container(manifest.Named("Job", "clickhouse-migrate")).Args()[3], replicated.Store);
        Assert.Contains("zookeeper", replicated.Resources);
    }

    [Fact]
    [Slow] // runs python3
    public async Task Tiltfile_RefusesAnUnknownClickHouseLayout()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => RunTiltfileAsync(new() { ["clickhouse"] = "three" }));

        Assert.Contains("--clickhouse must be one of single, replicated", error.Message, StringComparison.Ordinal);
    }

    /// <summary>What one run of the Tiltfile loaded: the manifest files, the roles' store URL and the resources.</summary>
    private sealed record TiltRun(IReadOnlyList<string> Files, string? Store, IReadOnlyList<string> Resources);

    /// <summary>
    /// Runs the Tiltfile in python3 with Tilt's functions replaced by ones that record what it loads (Tilt cannot run
    /// here; Starlark runs as Python). <paramref name="args"/> are the <c>tilt up -- --name value</c> settings.
    /// </summary>
    private static async Task<TiltRun> RunTiltfileAsync(Dictionary<string, string> args)
    {
        var files = new JsonObject();
        foreach (var file in Manifests.Files())
        {
            var path = $"{Manifests.Directory}/{file}";
            files[path] = new JsonArray([.. DeployFiles.ParseDocuments(await DeployFiles.ReadAsync(path)).Select(ToJson)]);
        }

        var info = new ProcessStartInfo("python3", ["-c", TiltStub, "Tiltfile"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Repository.Root(),
        };
        using var python = Process.Start(info)!;
        var cancellationToken = TestContext.Current.CancellationToken;
        await python.StandardInput.WriteAsync(new JsonObject { ["args"] = JsonSerializer.SerializeToNode(args), ["files"] = files }.ToJsonString().AsMemory(), cancellationToken);
        python.StandardInput.Close();
        var output = python.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = await python.StandardError.ReadToEndAsync(cancellationToken);
        await python.WaitForExitAsync(cancellationToken);
        if (python.ExitCode != 0)
        {
            throw new InvalidOperationException(errors);
        }

        var run = JsonNode.Parse(await output)!;
        var loaded = run["yaml"]!.AsArray();
        var settings = loaded.OfType<JsonArray>().SelectMany(objects => objects).Single(o => o!["kind"]!.GetValue<string>() == "ConfigMap" && o["metadata"]!["name"]!.GetValue<string>() == "breadboard-config");
        return new TiltRun(
            [.. loaded.OfType<JsonValue>().Select(v => v.GetValue<string>())],
            settings!["data"]!["BREADBOARD_STORE"]?.GetValue<string>(),
            [.. run["resources"]!.AsArray().Select(r => r!.GetValue<string>())]);
    }

    /// <summary>Tilt's API as far as the Tiltfile uses it: settings from stdin, manifests read from stdin's copy, and
    /// every k8s_yaml and k8s_resource recorded; `fail` exits with its message.</summary>
    private const string TiltStub = """
        import json, sys, types
        given = json.load(sys.stdin)
        loaded, resources = [], []
        def k8s_yaml(yaml):
            loaded.append(yaml)
        def k8s_resource(workload='', **kwargs):
            resources.append(workload)
        def ignore(*args, **kwargs):
            return None
        tilt = dict(
            config=types.SimpleNamespace(define_string=ignore, define_string_list=ignore, set_enabled_resources=ignore, parse=lambda: given['args']),
            fail=lambda message: sys.exit(message), k8s_yaml=k8s_yaml, k8s_resource=k8s_resource,
            read_yaml_stream=lambda path: given['files'][path], encode_yaml_stream=lambda objects: objects,
            local=lambda command, **kwargs: '', docker_build=ignore, sync=ignore, restart_container=ignore, k8s_kind=ignore, local_resource=ignore)
        exec(compile(open(sys.argv[1]).read(), sys.argv[1], 'exec'), tilt)
        json.dump({'yaml': loaded, 'resources': resources}, sys.stdout)
        """;

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv => KeyValuePair.Create(((YamlScalarNode)kv.Key).Value!, ToJson(kv.Value)))),
        YamlSequenceNode seq => new JsonArray([.. seq.Children.Select(ToJson)]),
        _ => JsonValue.Create(((YamlScalarNode)node).Value),
    };

    private static async Task<IReadOnlyList<YamlMappingNode>> ManifestAsync() => DeployFiles.ParseDocuments(await DeployFiles.ReadAsync(Manifest));

    /// <summary>The ClickHouse servers' config.d/cluster.xml, from the ConfigMap the StatefulSet mounts there.</summary>
    private static XElement ServerConfig(IReadOnlyList<YamlMappingNode> manifest)
    {
        var set = manifest.Named("StatefulSet", "clickhouse");
        var mount = Assert.Single(Container(set).Items("volumeMounts"), m => m.Text("mountPath") == "/etc/clickhouse-server/config.d/" + m.Text("subPath"));
        var volume = Assert.Single(set.PodSpec().Items("volumes"), v => v.Text("name") == mount.Text("name"));
        var configMap = manifest.Named("ConfigMap", volume.Map("configMap").Text("name")!);
        return XDocument.Parse(configMap.Map("data").Text(mount.Text("subPath")!)!).Root!;
    }

    private static ClickHouseUrl MigrateUrl(IReadOnlyList<YamlMappingNode> manifest)
    {
        var args = Container(manifest.Named("Job", "clickhouse-migrate")).Args();
        Assert.True(ClickHouseUrl.TryParse(args[3], out var url, out var error), error);
        return url!;
    }

    private static YamlMappingNode Container(YamlMappingNode workload) => Assert.Single(workload.PodSpec().Items("containers"));

    private static IReadOnlyList<string> PodNames(YamlMappingNode set) =>
        [.. Enumerable.Range(0, int.Parse(set.Map("spec").Text("replicas")!, CultureInfo.InvariantCulture)).Select(i => string.Create(CultureInfo.InvariantCulture, $"{set.Name()}-{i}"))];

    /// <summary><c>pod.service</c> for each pod: the name the StatefulSet's headless Service gives it in the namespace.</summary>
    private static IReadOnlyList<string> StableNames(YamlMappingNode set) => [.. PodNames(set).Select(pod => $"{pod}.{set.Map("spec").Text("serviceName")}")];

    private static string? Port(YamlMappingNode container, string name) => container.Items("ports").SingleOrDefault(p => p.Text("name") == name)?.Text("containerPort");

    private static Dictionary<string, YamlMappingNode> Env(YamlMappingNode container) => container.Items("env").ToDictionary(e => e.Text("name")!);

    /// <summary>The container's plain and pod-name variables in one pod, with <c>$(NAME)</c> expanded as Kubernetes does.</summary>
    private static Dictionary<string, string> PodEnvironment(YamlMappingNode container, string pod)
    {
        var env = new Dictionary<string, string>();
        foreach (var variable in container.Items("env"))
        {
            if (variable.Text("value") is { } value)
            {
                env[variable.Text("name")!] = Reference().Replace(value, m => env.TryGetValue(m.Groups["name"].Value, out var known) ? known : m.Value);
            }
            else if ((variable.Map("valueFrom").Get("fieldRef") as YamlMappingNode)?.Text("fieldPath") == "metadata.name")
            {
                env[variable.Text("name")!] = pod;
            }
        }

        return env;
    }

    /// <summary>A config element's value as the server reads it: its text, or the variable its <c>from_env</c> names.</summary>
    private static string Value(XElement element, Dictionary<string, string> env) =>
        element.Attribute("from_env") is { } from ? env[from.Value] : element.Value;

    private static bool Selects(YamlMappingNode selector, YamlMappingNode set)
    {
        var labels = set.Map("spec").Map("template").Map("metadata").Map("labels").Labels();
        return selector.Labels().All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value);
    }

    [GeneratedRegex(@"\{(?<name>[A-Za-z_]+)\}")]
    private static partial Regex Macro();

    [GeneratedRegex(@"\$\((?<name>[A-Za-z_][A-Za-z0-9_]*)\)")]
    private static partial Regex Reference();
}
