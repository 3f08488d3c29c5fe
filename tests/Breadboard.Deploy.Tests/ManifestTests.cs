using System.Globalization;
using Breadboard.Cli;
using Breadboard.Cli.Settings;
using Breadboard.Kafka;
using YamlDotNet.RepresentationModel;

namespace Breadboard.Deploy.Tests;

/// <summary>The manifests under deploy/k8s parse and every name, port, key and command they use exists.</summary>
public class ManifestTests
{
    private static readonly HashSet<string> CliSettings = [.. EnvironmentSettings.All.Select(s => s.Name)];
    private static readonly HashSet<string> SecretSettings = [.. EnvironmentSettings.All.Where(s => s.Secret).Select(s => s.Name)];

    [Fact]
    public async Task EveryObject_HasApiVersionKindAndName()
    {
        var all = await Manifests.AllAsync();

        Assert.Equal(
            ["backend.yml", "clickhouse-replicated.yml", "clickhouse.yml", "config.yml", "embedded.yml", "flink.yaml", "ingest.yml", "kafka.yaml", "notifiers.yml", "processor.yml", "secrets.example.yml", "sink.yml"],
            Manifests.Files());
        Assert.All(all, a =>
        {
            Assert.False(string.IsNullOrWhiteSpace(a.Object.Text("apiVersion")), a.File);
            Assert.False(string.IsNullOrWhiteSpace(a.Object.Text("kind")), a.File);
            Assert.False(string.IsNullOrWhiteSpace(a.Object.Name()), a.File);
        });
        foreach (var layout in Manifests.ClickHouseLayouts)
        {
            var stack = await Manifests.StackAsync(layout);
            Assert.Equal(stack.Count, stack.Select(a => $"{a.Object.Text("kind")}/{a.Object.Name()}").Distinct().Count());
        }
    }

    [Fact]
    public async Task HelmValues_Parse_WithJetStreamOnFilesAndTheKubernetesExecutor()
    {
        var nats = await Manifests.HelmValuesAsync("nats-values.yaml");
        var airflow = await Manifests.HelmValuesAsync("airflow-values.yaml");

        var jetstream = nats.Map("config").Map("jetstream");
        Assert.Equal("true", jetstream.Text("enabled"));
        Assert.Equal("true", jetstream.Map("fileStore").Text("enabled"));
        Assert.Equal("true", jetstream.Map("fileStore").Map("pvc").Text("enabled"));
        Assert.Equal("8222", nats.Map("config").Map("monitor").Text("port"));
        Assert.Equal("KubernetesExecutor", airflow.Text("executor"));
    }

    [Fact]
    public async Task BreadboardContainers_RunCommandLinesTheCliAccepts()
    {
        var all = await Manifests.AllAsync();
        var root = Program.BuildRootCommand();

        var containers = all.Containers().Where(c => c.Container.Text("image") == Manifests.BreadboardImage).ToList();
        Assert.NotEmpty(containers);
        foreach (var (workload, container) in containers)
        {
            var args = container.Args();
            Assert.True(container.Get("command") is null, $"{workload.Name()}: the image's entrypoint is the CLI; give the role in args");
            var parse = root.Parse([.. args]);
            Assert.True(parse.Errors.Count == 0, $"{workload.Name()}: breadboard {string.Join(' ', args)}: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
        }

        // Every role the issue packages has a workload.
        var roles = containers.Select(c => string.Join(' ', c.Container.Args().TakeWhile(a => !a.StartsWith('-')))).ToHashSet();
        Assert.Superset(new HashSet<string> { "api", "ingest", "process", "sink", "notify", "store migrate", "flink deploy", "up" }, roles);
    }

    [Fact]
    public async Task BreadboardContainers_SetOnlyEnvironmentVariablesTheCliKnows()
    {
        var all = await Manifests.AllAsync();
        var config = all.Data("ConfigMap", "breadboard-config");
        var secret = all.Data("Secret", "breadboard-secrets", "stringData");

        Assert.All(config.Keys, key => Assert.Contains(key, CliSettings));
        Assert.All(secret.Keys, key => Assert.Contains(key, CliSettings));
        // Credentials never in the ConfigMap; every credential the CLI knows has its key in the Secret.
        Assert.DoesNotContain(config.Keys, SecretSettings.Contains);
        Assert.Superset(SecretSettings, secret.Keys.ToHashSet());
        Assert.All(secret.Values, Assert.Empty);
        foreach (var (workload, container) in all.Containers().Where(c => c.Container.Text("image") == Manifests.BreadboardImage))
        {
            Assert.All(container.Items("env"), e => Assert.True(CliSettings.Contains(e.Text("name")!), $"{workload.Name()}: {e.Text("name")} is not a setting of the CLI"));
        }
    }

    [Fact]
    public async Task ConfigMapsSecretsAndClaims_ReferencedByAWorkload_AreDefined()
    {
        var all = await Manifests.AllAsync();
        var defined = all.Select(a => $"{a.Object.Text("kind")}/{a.Object.Name()}").ToHashSet();
        var secretKeys = all.Data("Secret", "breadboard-secrets", "stringData").Keys.ToHashSet();
        var configMaps = all.Where(a => a.Object.Text("kind") == "ConfigMap").ToDictionary(a => a.Object.Name(), a => a.Object.Map("data"));

        foreach (var (workload, container) in all.Containers())
        {
            foreach (var from in container.Items("envFrom"))
            {
                if (from.Get("configMapRef") is YamlMappingNode cm)
                {
                    Assert.Contains($"ConfigMap/{cm.Text("name")}", defined);
                }

                if (from.Get("secretRef") is YamlMappingNode s)
                {
                    Assert.Contains($"Secret/{s.Text("name")}", defined);
                }
            }

            // Other sources (a fieldRef to the pod's name) need nothing defined.
            foreach (var env in container.Items("env").Where(e => (e.Get("valueFrom") as YamlMappingNode)?.Get("secretKeyRef") is not null))
            {
                var reference = env.Map("valueFrom").Map("secretKeyRef");
                Assert.Contains($"Secret/{reference.Text("name")}", defined);
                Assert.Contains(reference.Text("key")!, secretKeys);
            }
        }

        foreach (var workload in all.Select(a => a.Object).Where(Manifests.IsWorkload))
        {
            var templates = workload.Map("spec").Items("volumeClaimTemplates").Select(t => t.Name()).ToHashSet();
            var volumes = workload.PodSpec().Items("volumes").ToList();
            foreach (var volume in volumes)
            {
                if (volume.Get("persistentVolumeClaim") is YamlMappingNode claim)
                {
                    Assert.Contains($"PersistentVolumeClaim/{claim.Text("claimName")}", defined);
                }

                if (volume.Get("configMap") is YamlMappingNode cm)
                {
                    var data = configMaps[cm.Text("name")!];
                    Assert.All(cm.Items("items"), item => Assert.NotNull(data.Get(item.Text("key")!)));
                }
            }

            var names = volumes.Select(v => v.Text("name")).Concat(templates).ToHashSet();
            foreach (var container in workload.PodSpec().Items("containers"))
            {
                Assert.All(container.Items("volumeMounts"), m => Assert.True(names.Contains(m.Text("name")), $"{workload.Name()}: no volume {m.Text("name")}"));
            }
        }
    }

    [Fact]
    public async Task EveryContainer_HasResourcesAndLongRunningOnesHaveProbesOnTheirPorts()
    {
        var all = await Manifests.AllAsync();

        foreach (var (workload, container) in all.Containers())
        {
            var what = $"{workload.Name()}/{container.Text("name")}";
            var resources = container.Map("resources");
            foreach (var part in new[] { "requests", "limits" })
            {
                Assert.NotNull(resources.Map(part).Get("cpu"));
                Assert.NotNull(resources.Map(part).Get("memory"));
            }

            Assert.Equal("false", container.Map("securityContext").Text("allowPrivilegeEscalation"));
            if (workload.Text("kind") == "Job")
            {
                continue;
            }

            var ports = container.Items("ports").Select(p => p.Text("containerPort")).ToHashSet();
            foreach (var probe in new[] { "readinessProbe", "livenessProbe" })
            {
                var check = container.Map(probe);
                if (check.Get("exec") is YamlMappingNode exec)
                {
                    Assert.NotEmpty(exec.Seq("command"));
                    continue;
                }

                var port = (check.Get("httpGet") as YamlMappingNode ?? check.Map("tcpSocket")).Text("port");
                Assert.True(ports.Contains(port), $"{what}: {probe} on port {port}, which the container does not declare");
            }
        }
    }

    [Fact]
    public async Task BreadboardProbes_AreOnThePortsTheConfigMapTellsTheRolesToListenOn()
    {
        var all = await Manifests.AllAsync();
        var config = all.Data("ConfigMap", "breadboard-config");
        var webPort = new Uri(config["BREADBOARD_URLS"]).Port.ToString(CultureInfo.InvariantCulture);
        var healthPort = new Uri(config[WorkerHealth.UrlsVariable]).Port.ToString(CultureInfo.InvariantCulture);

        foreach (var (workload, container) in all.Containers().Where(c => c.Container.Text("image") == Manifests.BreadboardImage && c.Workload.Text("kind") != "Job"))
        {
            var role = container.Args()[0];
            var expected = role is "api" or "up" ? webPort : healthPort;
            Assert.Equal(expected, container.Map("readinessProbe").Map("httpGet").Text("port"));
            Assert.Equal("/health/ready", container.Map("readinessProbe").Map("httpGet").Text("path"));
            Assert.Equal("/health/live", container.Map("livenessProbe").Map("httpGet").Text("path"));
            Assert.Equal(expected, Assert.Single(container.Items("ports")).Text("containerPort"));
        }
    }

    [Fact]
    public async Task WebRoles_AnswerToTheirServiceNames_AndTheirProbesSendAHostTheyAnswerTo()
    {
        var all = await Manifests.AllAsync();
        var config = all.Data("ConfigMap", "breadboard-config");
        var served = new Breadboard.Web.WebOptions
        {
            Urls = config["BREADBOARD_URLS"],
            Pipeline = Breadboard.Core.Pipeline.PipelineDefinition.Default,
            StoreUrl = config["BREADBOARD_STORE"],
            AllowedHosts = config[Breadboard.Web.WebOptions.AllowedHostsVariable].Split(','),
        }.ServedHosts();
        var webRoles = all.Containers().Where(c => c.Container.Text("image") == Manifests.BreadboardImage && c.Container.Args()[0] is "api" or "up").ToList();
        Assert.NotEmpty(webRoles);
        foreach (var (workload, container) in webRoles)
        {
            foreach (var probe in new[] { "readinessProbe", "livenessProbe" })
            {
                var host = container.Map(probe).Map("httpGet").Items("httpHeaders").SingleOrDefault(h => h.Text("name") == "Host")?.Text("value");
                Assert.True(host is not null && served.Contains(host), $"{workload.Name()}: {probe} sends Host {host ?? "(the pod IP)"}, which the server refuses; it answers to {string.Join(", ", served)}");
            }

            var labels = workload.Map("spec").Map("template").Map("metadata").Map("labels").Labels();
            foreach (var service in all.Select(a => a.Object).Where(o => o.Text("kind") == "Service"))
            {
                if (service.Map("spec").Map("selector").Labels().All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value))
                {
                    Assert.Contains(service.Name(), served);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Manifests.ClickHouseLayoutData), MemberType = typeof(Manifests))]
    public async Task Services_SelectExactlyOneWorkload_OnPortsItDeclares(string clickHouseLayout)
    {
        var all = await Manifests.StackAsync(clickHouseLayout);
        var workloads = all.Select(a => a.Object).Where(w => w.Text("kind") is "Deployment" or "StatefulSet").ToList();

        foreach (var service in all.Select(a => a.Object).Where(o => o.Text("kind") == "Service"))
        {
            var selector = service.Map("spec").Map("selector").Labels();
            var selected = Assert.Single(workloads, w =>
            {
                var labels = w.Map("spec").Map("template").Map("metadata").Map("labels").Labels();
                return selector.All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value);
            });
            var ports = selected.PodSpec().Items("containers").SelectMany(c => c.Items("ports")).Select(p => p.Text("containerPort")).ToHashSet();
            Assert.All(service.Map("spec").Items("ports"), p => Assert.Contains(p.Text("targetPort"), ports));
        }
    }

    [Fact]
    public async Task Images_AreBuiltHereOrPinnedPublicImages()
    {
        var all = await Manifests.AllAsync();

        var images = all.Containers().Select(c => c.Container.Text("image")!).ToHashSet();
        Assert.Contains(Manifests.BreadboardImage, images);
        foreach (var image in images.Where(i => i != Manifests.BreadboardImage && !i.StartsWith("breadboard-flink:", StringComparison.Ordinal)))
        {
            var tag = image[(image.LastIndexOf(':') + 1)..];
            Assert.True(image.Contains(':', StringComparison.Ordinal) && tag != "latest", $"{image}: a public image needs a pinned tag");
        }
    }

    [Fact]
    public async Task KafkaTopics_AreTheBusTopics_OnTheClusterTheConfigMapNames()
    {
        var all = await Manifests.AllAsync();
        var kafka = Assert.Single(all, a => a.Object.Text("kind") == "Kafka").Object;
        var pool = Assert.Single(all, a => a.Object.Text("kind") == "KafkaNodePool").Object;
        var topics = all.Select(a => a.Object).Where(o => o.Text("kind") == "KafkaTopic").ToList();
        var config = all.Data("ConfigMap", "breadboard-config");

        Assert.Equal(KafkaBusOptions.AllTopics.Order(), topics.Select(t => t.Name()).Order());
        Assert.True(KafkaBusOptions.TryParse(config["BREADBOARD_BUS"], out var bus, out var error), error);
        Assert.Equal($"{kafka.Name()}-kafka-bootstrap:{kafka.Map("spec").Map("kafka").Items("listeners").Single().Text("port")}", bus!.BootstrapServers);
        Assert.True(bus.Strict, "the KafkaTopic resources own the topics: the roles must not create them");
        Assert.Equal(kafka.Name(), pool.Map("metadata").Map("labels").Text("strimzi.io/cluster"));
        Assert.Equal("3", pool.Map("spec").Text("replicas"));
        foreach (var topic in topics)
        {
            Assert.Equal(kafka.Name(), topic.Map("metadata").Map("labels").Text("strimzi.io/cluster"));
            Assert.Equal("3", topic.Map("spec").Text("replicas"));
            Assert.NotNull(topic.Map("spec").Map("config").Text("retention.ms"));
        }

        // At most one processor (or sink) per partition of the tick topics.
        var partitions = int.Parse(topics.First(t => t.Name() == KafkaBusOptions.StockTopic).Map("spec").Text("partitions")!, CultureInfo.InvariantCulture);
        foreach (var name in new[] { "processor", "sink" })
        {
            var replicas = int.Parse(all.Single(a => a.Object.Text("kind") == "Deployment" && a.Object.Name() == name).Object.Map("spec").Text("replicas")!, CultureInfo.InvariantCulture);
            Assert.InRange(replicas, 1, partitions);
        }
    }

    [Fact]
    public async Task ConfigMapSeams_PointAtServicesAndPortsTheStackDefines()
    {
        // The ConfigMap's store is the single node; ReplicatedClickHouseManifestTests checks the replicated one's URL.
        var all = await Manifests.StackAsync("clickhouse.yml");
        var config = all.Data("ConfigMap", "breadboard-config");
        var services = all.Select(a => a.Object).Where(o => o.Text("kind") == "Service")
            .ToDictionary(s => s.Name(), s => s.Map("spec").Items("ports").Select(p => p.Text("port")).ToHashSet());

        var store = new Uri(config["BREADBOARD_STORE"].Replace("clickhouse://", "http://", StringComparison.Ordinal));
        Assert.Contains(store.Port.ToString(CultureInfo.InvariantCulture), services[store.Host]);
        var statefulSet = all.Single(a => a.Object.Text("kind") == "StatefulSet" && a.Object.Name() == "clickhouse").Object;
        var env = statefulSet.PodSpec().Items("containers").Single().Items("env").ToDictionary(e => e.Text("name")!, e => e);
        Assert.Equal(store.AbsolutePath.Trim('/'), env["CLICKHOUSE_DB"].Text("value"));
        Assert.Equal($"user={env["CLICKHOUSE_USER"].Text("value")}", store.Query.TrimStart('?').Split('&')[0]);

        // The Flink deploy Job talks to the gateway Service.
        var job = all.Single(a => a.Object.Text("kind") == "Job" && a.Object.Name() == "flink-deploy").Object;
        var engine = new Uri(job.PodSpec().Items("containers").Single().Items("env").Single(e => e.Text("name") == "BREADBOARD_ENGINE").Text("value")!.Replace("flink+", "", StringComparison.Ordinal));
        Assert.Contains(engine.Port.ToString(CultureInfo.InvariantCulture), services[engine.Host]);

        // NATS comes from the Helm release the Tiltfile installs as "nats": its client Service is nats:4222.
        Assert.Equal("nats://nats:4222", config["BREADBOARD_ALERTS"]);
        Assert.Contains("helm upgrade --install nats nats/nats -f ' + k8s + 'nats-values.yaml", await DeployFiles.ReadAsync("Tiltfile"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AirflowValues_SetWhatTheDagReads_NamingObjectsTheManifestsDefine()
    {
        var all = await Manifests.AllAsync();
        var values = await Manifests.HelmValuesAsync("airflow-values.yaml");
        var dag = await DeployFiles.ReadAsync("deploy/airflow/dags/historical_fetch.py");

        var read = System.Text.RegularExpressions.Regex.Matches(dag, @"os\.environ\.get\(""(?<name>BREADBOARD_[A-Z_]+)""").Select(m => m.Groups["name"].Value).ToHashSet();
        var env = values.Items("env").ToDictionary(e => e.Text("name")!, e => e.Text("value")!);
        Assert.All(env.Keys, name => Assert.Contains(name, read));
        Assert.Equal("kubernetes", env["BREADBOARD_AIRFLOW_MODE"]);
        Assert.Equal(Manifests.BreadboardImage, env["BREADBOARD_IMAGE"]);
        Assert.Single(all, a => a.Object.Text("kind") == "ConfigMap" && a.Object.Name() == env["BREADBOARD_CONFIG_MAP"]);
        Assert.Single(all, a => a.Object.Text("kind") == "Secret" && a.Object.Name() == env["BREADBOARD_SECRET"]);
        Assert.Single(all, a => a.Object.Text("kind") == "PersistentVolumeClaim" && a.Object.Name() == env["BREADBOARD_DATA_PVC"]);

        // The DAG folder is the ConfigMap the Tiltfile makes from deploy/airflow/dags.
        var dags = values.Items("volumes").Single().Map("configMap").Text("name");
        Assert.Contains($"kubectl create configmap {dags} --from-file=deploy/airflow/dags/", await DeployFiles.ReadAsync("Tiltfile"), StringComparison.Ordinal);
        Assert.Equal("/opt/airflow/dags", values.Items("volumeMounts").Single().Text("mountPath"));
    }
}
