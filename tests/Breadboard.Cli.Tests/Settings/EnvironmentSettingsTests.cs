using System.Text.RegularExpressions;
using Breadboard.Cli.Settings;
using Breadboard.TestKit;

namespace Breadboard.Cli.Tests.Settings;

/// <summary>The catalog of environment settings matches what the source reads, and <c>breadboard settings</c> prints it without values.</summary>
public partial class EnvironmentSettingsTests
{
    private static readonly HashSet<string> Names = [.. EnvironmentSettings.All.Select(s => s.Name)];

    [Fact]
    public void Catalog_EveryVariableNamedInTheSource_IsListed()
    {
        var unknown = SourceFiles()
            .SelectMany(file => VariableToken().Matches(File.ReadAllText(file)).Select(m => (File: file, Token: m.Value)))
            .Where(t => t.Token.EndsWith('_') ? !Names.Any(n => n.StartsWith(t.Token, StringComparison.Ordinal)) : !Names.Contains(t.Token))
            .Select(t => $"{t.Token} in {Path.GetRelativePath(Repository.Root(), t.File)}")
            .ToList();

        Assert.Empty(unknown);
    }

    [Fact]
    public void Catalog_EveryName_IsSpelledInTheSourceOutsideTheCatalog()
    {
        // Each name is a constant or a literal where it is read; the catalog refers to those, so a name spelled
        // only in the catalog is one nothing reads.
        var source = string.Join('\n', SourceFiles()
            .Where(f => Path.GetFileName(f) != "EnvironmentSettings.cs")
            .Select(File.ReadAllText));

        var unread = Names.Where(n => !source.Contains($"\"{n}\"", StringComparison.Ordinal)).ToList();

        Assert.Empty(unread);
    }

    [Fact]
    public void Catalog_Names_AreUniqueAndPrefixedWithBreadboard()
    {
        Assert.Equal(EnvironmentSettings.All.Count, Names.Count);
        Assert.All(EnvironmentSettings.All, s => Assert.StartsWith("BREADBOARD_", s.Name, StringComparison.Ordinal));
        Assert.All(EnvironmentSettings.All, s => Assert.False(string.IsNullOrWhiteSpace(s.Description), s.Name));
    }

    [Fact]
    public async Task Settings_WithNames_PrintsExactlyTheCatalogNames()
    {
        using var dir = new TempDir();
        var result = await CliProcess.RunAsync(dir.Path, ["settings", "--names"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(EnvironmentSettings.All.Select(s => s.Name), result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')));
    }

    [Fact]
    public async Task Settings_WithSecretsInTheEnvironment_PrintsEveryNameButNoValue()
    {
        using var dir = new TempDir();
        var secrets = EnvironmentSettings.All.Where(s => s.Secret).Select((s, i) => (s.Name, Value: $"s3cr3t-value-{i}")).ToList();
        var environment = secrets.ToDictionary(s => s.Name, s => s.Value);
        var result = await CliProcess.RunAsync(dir.Path, ["settings"], environment);

        Assert.Equal(0, result.ExitCode);
        Assert.DoesNotContain("s3cr3t-value", result.Stdout + result.Stderr, StringComparison.Ordinal);
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(EnvironmentSettings.All, s => Assert.Single(lines, l => l.StartsWith(s.Name + " ", StringComparison.Ordinal) && l.TrimEnd().EndsWith("(secret)", StringComparison.Ordinal) == s.Secret));
    }

    [Fact]
    public void BuildRootCommand_KnownOptions_ParseWithoutErrors()
    {
        Assert.Empty(Program.BuildRootCommand().Parse(["process", "--consumers", "2"]).Errors);
        Assert.Empty(Program.BuildRootCommand().Parse(["settings", "--names"]).Errors);
    }

    [Fact]
    public void BuildRootCommand_UnknownOption_IsAnError()
    {
        Assert.NotEmpty(Program.BuildRootCommand().Parse(["process", "--no-such-option", "2"]).Errors);
    }

    private static IEnumerable<string> SourceFiles()
    {
        var separator = Path.DirectorySeparatorChar;
        return Directory.EnumerateFiles(Path.Combine(Repository.Root(), "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{separator}bin{separator}", StringComparison.Ordinal) && !f.Contains($"{separator}obj{separator}", StringComparison.Ordinal));
    }

    [GeneratedRegex("BREADBOARD_[A-Z0-9_]+")]
    private static partial Regex VariableToken();
}
