using Breadboard.TestKit;
using YamlDotNet.RepresentationModel;

namespace Breadboard.Deploy.Tests;

/// <summary>Reads the deployment files under <c>deploy/</c> from the repository the tests run in.</summary>
/// <remarks>Nothing here talks to Docker or Kubernetes: the files are parsed and cross-checked, not applied.</remarks>
internal static class DeployFiles
{
    public const string FlinkManifest = "deploy/k8s/flink.yaml";
    public const string FlinkDockerfile = "deploy/docker/flink/Dockerfile";

    public static Task<string> ReadAsync(string relativePath) =>
        File.ReadAllTextAsync(Path.Combine(Repository.Root(), relativePath), TestContext.Current.CancellationToken);

    /// <summary>Every document of a multi-document YAML text, as its root mapping.</summary>
    public static IReadOnlyList<YamlMappingNode> ParseDocuments(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Select(d => Assert.IsType<YamlMappingNode>(d.RootNode)).ToList();
    }

    public static async Task<IReadOnlyList<YamlMappingNode>> FlinkManifestAsync() => ParseDocuments(await ReadAsync(FlinkManifest));

    public static IEnumerable<YamlMappingNode> OfKind(this IEnumerable<YamlMappingNode> documents, string kind) =>
        documents.Where(d => d.Text("kind") == kind);

    public static YamlMappingNode Named(this IEnumerable<YamlMappingNode> documents, string kind, string name) =>
        Assert.Single(documents.OfKind(kind), d => d.Map("metadata").Text("name") == name);

    /// <summary>The <c>config.yaml</c> embedded in the <c>flink-config</c> ConfigMap, parsed, as key to scalar text.</summary>
    public static IReadOnlyDictionary<string, string> FlinkConfig(IEnumerable<YamlMappingNode> manifest)
    {
        var text = manifest.Named("ConfigMap", "flink-config").Map("data").Text("config.yaml") ?? throw new KeyNotFoundException("config.yaml");
        var root = Assert.Single(ParseDocuments(text));
        return root.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => Assert.IsType<YamlScalarNode>(kv.Value).Value!);
    }

    public static IEnumerable<YamlMappingNode> Containers(this YamlMappingNode deployment) =>
        deployment.Map("spec").Map("template").Map("spec").Seq("containers").Cast<YamlMappingNode>();

    public static YamlNode? Get(this YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    public static YamlMappingNode Map(this YamlMappingNode map, string key) =>
        Assert.IsType<YamlMappingNode>(map.Get(key) ?? throw new KeyNotFoundException(key));

    public static YamlSequenceNode Seq(this YamlMappingNode map, string key) =>
        Assert.IsType<YamlSequenceNode>(map.Get(key) ?? throw new KeyNotFoundException(key));

    public static string? Text(this YamlMappingNode map, string key) => (map.Get(key) as YamlScalarNode)?.Value;

    public static IReadOnlyDictionary<string, string> Labels(this YamlMappingNode labels) =>
        labels.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value!);
}
