using Breadboard.TestKit;

namespace Breadboard.Cli.Tests.Commands;

/// <summary><c>silences create</c> with a bad option ends in one line naming the option and what it allows, exit code 2.</summary>
public class SilencesCommandTests
{
    [Theory]
    [InlineData(new[] { "--rule", "r", "--duration", "9999999d" }, "--duration", "at most 366d")]
    [InlineData(new[] { "--rule", "r", "--duration", "soon" }, "--duration", "like 30m, 2h or 1d")]
    [InlineData(new[] { "--rule", "r", "--starts", "2026-01-01", "--until", "2027-06-01" }, "--until", "at most 366d")]
    [InlineData(new[] { "--rule", "r", "--starts", "9999-12-31", "--duration", "2d" }, "--duration", "ends after 9999-12-31")]
    [InlineData(new[] { "--channel", "bogus", "--duration", "1h" }, "--channel", "email, slack, webhook")]
    public async Task SilencesCreate_WithABadOption_ExitsWith2NamingItAndWhatIsAllowed(string[] options, string option, string allowed)
    {
        using var dir = new TempDir();

        var result = await CliProcess.RunAsync(dir.Path, ["silences", "create", .. options, "--store", $"duckdb://{dir.File("s.duckdb")}"]);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.StartsWith($"error: {option}", line, StringComparison.Ordinal);
        Assert.Contains(allowed, line, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("silences.json")) && File.ReadAllText(dir.File("silences.json")).Contains("\"id\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SilencesCreate_WithSeveralBadOptions_NamesEachOnOneLine()
    {
        using var dir = new TempDir();

        var result = await CliProcess.RunAsync(dir.Path, ["silences", "create", "--rule", new string('r', 201), "--channel", "sms", "--comment", new string('c', 1_001), "--duration", "1h", "--store", $"duckdb://{dir.File("s.duckdb")}"]);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("--rule: rule is 201 characters long; at most 200", line, StringComparison.Ordinal);
        Assert.Contains("--channel: ", line, StringComparison.Ordinal);
        Assert.Contains("--comment: comment is 1001 characters long; at most 1000", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SilencesCreate_TheLongestAllowed_IsCreatedAndListed()
    {
        using var dir = new TempDir();
        string[] store = ["--store", $"duckdb://{dir.File("s.duckdb")}"];

        var created = await CliProcess.RunAsync(dir.Path, ["silences", "create", "--rule", "price_drop", "--channel", "webhook", "--duration", "366d", .. store]);
        var listed = await CliProcess.RunAsync(dir.Path, ["silences", "list", .. store]);

        Assert.True(created.ExitCode == 0, created.Stderr);
        Assert.Contains("webhook", listed.Stdout, StringComparison.Ordinal);
    }
}
