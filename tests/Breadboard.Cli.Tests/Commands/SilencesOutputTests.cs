namespace Breadboard.Cli.Tests.Commands;

/// <summary>What others wrote into a silence reaches the terminal without escape sequences or bidi overrides.</summary>
public sealed class SilencesOutputTests
{
    [Fact]
    public async Task SilencesList_WithEscapesInTheCommentAndMatchers_PrintsThemStripped()
    {
        using var dir = new TempDir();
        var created = await CliProcess.RunAsync(
            dir.Path,
            ["silences", "create", "--symbol", "BTC-\u001b[2J*", "--duration", "2h", "--comment", "\u001b[31mmaintenance\u001b[0m \u202Eevil\u2066", "--by", "\u001b]0;title\u0007ops"]);
        Assert.True(created.ExitCode == 0, created.Stderr);

        var listed = await CliProcess.RunAsync(dir.Path, ["silences", "list"]);

        Assert.Equal(0, listed.ExitCode);
        Assert.Contains("maintenance evil", listed.Stdout, StringComparison.Ordinal);
        Assert.Contains("BTC-*", listed.Stdout, StringComparison.Ordinal);
        foreach (var output in new[] { created.Stdout, listed.Stdout })
        {
            Assert.DoesNotContain('\u001b', output);
            Assert.DoesNotContain('\u0007', output);
            Assert.DoesNotContain('\u202E', output);
            Assert.DoesNotContain('\u2066', output);
        }
    }
}
