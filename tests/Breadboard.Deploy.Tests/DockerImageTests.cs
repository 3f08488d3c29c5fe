using System.Text.RegularExpressions;
using Breadboard.TestKit;

namespace Breadboard.Deploy.Tests;

/// <summary>deploy/docker/Dockerfile builds the projects that exist, into a non-root image whose entrypoint is the CLI.</summary>
public partial class DockerImageTests
{
    private const string Dockerfile = "deploy/docker/Dockerfile";

    [Fact]
    public async Task BuildStage_CopiesEveryProjectOfSrc_AndPublishesTheCli()
    {
        var dockerfile = await DeployFiles.ReadAsync(Dockerfile);
        var root = Repository.Root();

        var projects = Directory.EnumerateFiles(Path.Combine(root, "src"), "*.csproj", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(root, p).Replace('\\', '/'))
            .Order(StringComparer.Ordinal);
        var copied = CopiedProject().Matches(dockerfile).Select(m => m.Groups["path"].Value).Order(StringComparer.Ordinal);

        Assert.Equal(projects, copied);
        Assert.Matches(@"dotnet publish src/Breadboard\.Cli/Breadboard\.Cli\.csproj -c Release", dockerfile);
        Assert.Contains("AssemblyName>breadboard<", await DeployFiles.ReadAsync("src/Breadboard.Cli/Breadboard.Cli.csproj"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryCopiedFile_ExistsAndIsNotIgnored()
    {
        var dockerfile = await DeployFiles.ReadAsync(Dockerfile);
        var ignored = (await DeployFiles.ReadAsync(".dockerignore")).Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var root = Repository.Root();

        var sources = CopyLine().Matches(dockerfile).SelectMany(m => m.Groups["args"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipLast(1)).ToList();
        Assert.NotEmpty(sources);
        foreach (var source in sources)
        {
            Assert.True(File.Exists(Path.Combine(root, source)) || Directory.Exists(Path.Combine(root, source)), $"COPY {source}: no such file");
            Assert.DoesNotContain(ignored, pattern => source.StartsWith(pattern.TrimEnd('/'), StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task RuntimeStage_IsAspNet_NonRoot_WithTheCliAsEntrypointAndAHealthCheck()
    {
        var dockerfile = await DeployFiles.ReadAsync(Dockerfile);
        var runtime = dockerfile[dockerfile.LastIndexOf("\nFROM ", StringComparison.Ordinal)..];

        Assert.Matches(@"^\nFROM mcr\.microsoft\.com/dotnet/aspnet:\$\{DOTNET_VERSION\} AS runtime", runtime);
        Assert.Matches(@"\nFROM mcr\.microsoft\.com/dotnet/sdk:\$\{DOTNET_VERSION\} AS build", dockerfile);
        Assert.Contains("\nUSER $APP_UID\n", runtime, StringComparison.Ordinal);
        Assert.Contains("\nENTRYPOINT [\"breadboard\"]\n", runtime, StringComparison.Ordinal);
        Assert.Contains("\nHEALTHCHECK ", runtime, StringComparison.Ordinal);
        Assert.Contains("/health/live", runtime, StringComparison.Ordinal);
        // The .NET SDK line the repository builds with.
        var sdk = System.Text.Json.JsonDocument.Parse(await DeployFiles.ReadAsync("global.json")).RootElement.GetProperty("sdk").GetProperty("version").GetString()!;
        Assert.Contains($"ARG DOTNET_VERSION={sdk.Split('.')[0]}.{sdk.Split('.')[1]}\n", dockerfile, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExposedPorts_AreTheOnesTheManifestsProbe()
    {
        var dockerfile = await DeployFiles.ReadAsync(Dockerfile);
        var all = await Manifests.AllAsync();

        var exposed = Expose().Match(dockerfile).Groups["ports"].Value.Split(' ').ToHashSet();
        var probed = all.Containers().Where(c => c.Container.Text("image") == Manifests.BreadboardImage && c.Workload.Text("kind") != "Job")
            .Select(c => c.Container.Map("readinessProbe").Map("httpGet").Text("port")!).ToHashSet();
        Assert.Equal(exposed.Order(), probed.Order());
    }

    [GeneratedRegex(@"^COPY (?<path>src/[^ ]+\.csproj) ", RegexOptions.Multiline)]
    private static partial Regex CopiedProject();

    [GeneratedRegex(@"^COPY (?!--from)(?<args>.+)$", RegexOptions.Multiline)]
    private static partial Regex CopyLine();

    [GeneratedRegex(@"^EXPOSE (?<ports>[\d ]+)$", RegexOptions.Multiline)]
    private static partial Regex Expose();
}
