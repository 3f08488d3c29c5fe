using Breadboard.TestKit;
using YamlDotNet.RepresentationModel;

namespace Breadboard.Deploy.Tests;

/// <summary>Every Kubernetes manifest under deploy/k8s, parsed, with the helpers the cross-reference tests share.</summary>
internal static class Manifests
{
    public const string Directory = "deploy/k8s";

    /// <summary>Helm values files: inputs to charts, not Kubernetes objects.</summary>
    public static readonly string[] HelmValues = ["nats-values.yaml", "airflow-values.yaml"];

    /// <summary>Where the image of deploy/docker/Dockerfile runs.</summary>
    public const string BreadboardImage = "breadboard:latest";

    public static IEnumerable<string> Files() =>
        System.IO.Directory.EnumerateFiles(Path.Combine(Repository.Root(), Directory))
            .Where(f => f.EndsWith(".yml", StringComparison.Ordinal) || f.EndsWith(".yaml", StringComparison.Ordinal))
            .Select(Path.GetFileName)
            .Where(f => !HelmValues.Contains(f))
            .Order(StringComparer.Ordinal)!;

    /// <summary>The ClickHouse manifests, the single node first: the Tiltfile loads one of them (<c>--clickhouse</c>),
    /// and both name their objects alike (<c>clickhouse</c>, <c>clickhouse-migrate</c>).</summary>
    public static readonly string[] ClickHouseLayouts = ["clickhouse.yml", "clickhouse-replicated.yml"];

    public static TheoryData<string> ClickHouseLayoutData => [.. ClickHouseLayouts];

    /// <summary>Every object of every manifest, both ClickHouse layouts included.</summary>
    public static Task<IReadOnlyList<(string File, YamlMappingNode Object)>> AllAsync() => ReadAsync(Files());

    /// <summary>The objects one run of the Tiltfile can load: every manifest but the ClickHouse layout not chosen.</summary>
    public static Task<IReadOnlyList<(string File, YamlMappingNode Object)>> StackAsync(string clickHouseLayout) =>
        ReadAsync(Files().Where(f => f == clickHouseLayout || !ClickHouseLayouts.Contains(f)));

    private static async Task<IReadOnlyList<(string File, YamlMappingNode Object)>> ReadAsync(IEnumerable<string> files)
    {
        var all = new List<(string, YamlMappingNode)>();
        foreach (var file in files)
        {
            all.AddRange(DeployFiles.ParseDocuments(await DeployFiles.ReadAsync($"{Directory}/{file}")).Select(d => (file, d)));
        }

        return all;
    }

    public static async Task<YamlMappingNode> HelmValuesAsync(string file) =>
        Assert.Single(DeployFiles.ParseDocuments(await DeployFiles.ReadAsync($"{Directory}/{file}")));

    public static string Name(this YamlMappingNode obj) => obj.Map("metadata").Text("name")!;

    /// <summary>Deployments, StatefulSets and Jobs: the objects that run containers.</summary>
    public static bool IsWorkload(this YamlMappingNode obj) => obj.Text("kind") is "Deployment" or "StatefulSet" or "Job";

    public static YamlMappingNode PodSpec(this YamlMappingNode workload) => workload.Map("spec").Map("template").Map("spec");

    public static IEnumerable<YamlMappingNode> Items(this YamlMappingNode map, string key) =>
        map.Get(key) is YamlSequenceNode seq ? seq.Cast<YamlMappingNode>() : [];

    public static IReadOnlyList<string> Args(this YamlMappingNode container) =>
        container.Get("args") is YamlSequenceNode args ? [.. args.Cast<YamlScalarNode>().Select(a => a.Value!)] : [];

    public static IEnumerable<(YamlMappingNode Workload, YamlMappingNode Container)> Containers(this IEnumerable<(string File, YamlMappingNode Object)> all) =>
        all.Select(a => a.Object).Where(IsWorkload).SelectMany(w => w.PodSpec().Items("initContainers").Concat(w.PodSpec().Items("containers")).Select(c => (w, c)));

    public static IReadOnlyDictionary<string, string> Data(this IEnumerable<(string File, YamlMappingNode Object)> all, string kind, string name, string key = "data")
    {
        var obj = Assert.Single(all, a => a.Object.Text("kind") == kind && a.Object.Name() == name).Object;
        return obj.Map(key).Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value ?? "");
    }
}
