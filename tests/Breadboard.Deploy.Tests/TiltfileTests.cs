using System.Diagnostics;
using System.Text.RegularExpressions;
using Breadboard.TestKit;

namespace Breadboard.Deploy.Tests;

/// <summary>The root Tiltfile refers only to files, images and resources that exist, with the seed's labels and ports.</summary>
public partial class TiltfileTests
{
    [Fact]
    [Slow] // runs python3
    public async Task Tiltfile_IsSyntacticallyValidStarlark()
    {
        // Starlark's syntax is a subset of Python's: python3 (which CI installs for the Airflow DAG) parses it.
        // Tilt itself cannot run here, so the file is parsed, not executed.
        var info = new ProcessStartInfo("python3", ["-c", "import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])", "Tiltfile"])
        {
            RedirectStandardError = true,
            WorkingDirectory = Repository.Root(),
        };
        using var python = Process.Start(info)!;
        var errors = await python.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await python.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.True(python.ExitCode == 0, errors);
    }

    [Fact]
    public async Task Tiltfile_ReferencesOnlyFilesThatExist()
    {
        var tiltfile = await DeployFiles.ReadAsync("Tiltfile");
        var k8s = KubernetesDir().Match(tiltfile).Groups["dir"].Value;

        var paths = QuotedPath().Matches(tiltfile).Select(m => m.Groups["path"].Value)
            .Concat(K8sFile().Matches(tiltfile).Select(m => k8s + m.Groups["file"].Value))
            .Where(p => !p.Contains('*', StringComparison.Ordinal))
            .Distinct()
            .ToList();

        Assert.Contains("deploy/docker/Dockerfile", paths);
        Assert.Contains("deploy/k8s/processor.yml", paths);
        Assert.All(paths, p => Assert.True(File.Exists(Path.Combine(Repository.Root(), p)) || Directory.Exists(Path.Combine(Repository.Root(), p)), $"Tiltfile: {p} does not exist"));
        // Every manifest is used by some setting of the Tiltfile.
        Assert.All(Manifests.Files().Concat(Manifests.HelmValues), f => Assert.Contains($"'{f}'", tiltfile, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Tiltfile_ResourcesAreWorkloadsOfTheManifestsOrLocalResources_UnderTheSeedsLabels()
    {
        var tiltfile = await DeployFiles.ReadAsync("Tiltfile");
        var all = await Manifests.AllAsync();
        var workloads = all.Select(a => a.Object).Where(o => Manifests.IsWorkload(o) || o.Text("kind") == "Kafka").Select(o => o.Name()).ToHashSet();
        var local = LocalResource().Matches(tiltfile).Select(m => m.Groups["name"].Value).ToHashSet();
        var renamed = NewName().Matches(tiltfile).Select(m => m.Groups["name"].Value).ToHashSet();

        var resources = K8sResource().Matches(tiltfile).Select(m => m.Groups["name"].Value).Where(n => !n.EndsWith('-')).ToList();
        Assert.NotEmpty(resources);
        Assert.All(resources, r => Assert.True(workloads.Contains(r), $"k8s_resource('{r}') names no workload in deploy/k8s"));
        var notifiers = all.Where(a => a.File == "notifiers.yml").Select(a => a.Object.Name()).ToHashSet();
        Assert.Equal(["notifier-email", "notifier-slack", "notifier-webhook"], notifiers.Order());
        Assert.Contains("k8s_resource('notifier-' + channel", tiltfile, StringComparison.Ordinal);

        var labels = Label().Matches(tiltfile).Select(m => m.Groups["label"].Value).ToHashSet();
        Assert.Equal(["batch", "core", "kafka", "messaging", "streaming"], labels.Order());

        // The groups `tilt up core streaming` expands name only resources the file defines.
        var groups = GroupsBlock().Match(tiltfile).Value;
        var known = resources.Concat(local).Concat(renamed).Concat(notifiers).ToHashSet();
        Assert.All(QuotedName().Matches(groups).Select(m => m.Groups["name"].Value).Where(n => !labels.Contains(n)), n => Assert.True(known.Contains(n) || n is "notifier-", $"group member '{n}' is no resource"));
    }

    [Fact]
    public async Task Tiltfile_ForwardsTheSeedsPorts_AndBuildsTheImagesTheManifestsRun()
    {
        var tiltfile = await DeployFiles.ReadAsync("Tiltfile");
        var all = await Manifests.AllAsync();

        var forwarded = PortForward().Matches(tiltfile).Select(m => m.Groups["local"].Value).ToHashSet();
        Assert.Superset(new HashSet<string> { "8000", "8123", "8081", "8080", "8222" }, forwarded);

        var built = DockerBuild().Matches(tiltfile).Select(m => m.Groups["image"].Value).ToHashSet();
        var images = all.Containers().Select(c => c.Container.Text("image")!.Split(':')[0]).Where(i => i.StartsWith("breadboard", StringComparison.Ordinal)).ToHashSet();
        Assert.Equal(images.Order(), built.Order());
    }

    [GeneratedRegex(@"k8s = '(?<dir>[^']+)'")]
    private static partial Regex KubernetesDir();

    [GeneratedRegex(@"'(?<path>(?:deploy|config|src)/[^' ]+)'")]
    private static partial Regex QuotedPath();

    [GeneratedRegex(@"k8s \+ '(?<file>[^' ]+)")]
    private static partial Regex K8sFile();

    [GeneratedRegex(@"local_resource\(\s*'(?<name>[^']+)'")]
    private static partial Regex LocalResource();

    [GeneratedRegex(@"new_name='(?<name>[^']+)'")]
    private static partial Regex NewName();

    [GeneratedRegex(@"k8s_resource\(\s*'(?<name>[^']*)'")]
    private static partial Regex K8sResource();

    [GeneratedRegex(@"labels=\['(?<label>[a-z]+)'\]")]
    private static partial Regex Label();

    [GeneratedRegex(@"groups = \{.*?\n\}", RegexOptions.Singleline)]
    private static partial Regex GroupsBlock();

    [GeneratedRegex(@"'(?<name>[a-z0-9-]+)'")]
    private static partial Regex QuotedName();

    [GeneratedRegex(@"(?<local>\d{4,5}):\d{4,5}")]
    private static partial Regex PortForward();

    [GeneratedRegex(@"docker_build\(\s*'(?<image>[^']+)'")]
    private static partial Regex DockerBuild();
}
