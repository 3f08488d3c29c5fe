namespace Breadboard.Fuzz.Tests;

/// <summary>
/// CI's share of the fuzzing: every input of every corpus directory (fuzz/corpus/TARGET, seeds, what afl++ found and
/// the crashes fixed since) through its target in process, with the same invariants as the afl++ runs. Seconds,
/// not a campaign: <c>scripts/fuzz.sh</c> does the fuzzing.
/// </summary>
public sealed class CorpusReplayTests
{
    private static readonly string Corpus = FindCorpus();

    public static TheoryData<string> Targets() => [.. FuzzTargets.All.Keys];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Corpus_EveryInput_PassesItsTarget(string target)
    {
        var files = Directory.GetFiles(Path.Combine(Corpus, target)).Order(StringComparer.Ordinal).ToArray();
        Assert.NotEmpty(files);
        var failures = new List<string>();
        foreach (var file in files)
        {
            try
            {
                FuzzTargets.All[target](File.ReadAllBytes(file));
            }
            catch (Exception e)
            {
                failures.Add($"{Path.GetFileName(file)}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {files.Length} inputs of {target} failed:\n{string.Join("\n\n", failures)}");
    }

    [Fact]
    public void Corpus_HasADirectoryPerTarget_AndNoOther()
    {
        var directories = Directory.GetDirectories(Corpus).Select(Path.GetFileName).Order(StringComparer.Ordinal);

        Assert.Equal(FuzzTargets.All.Keys.Order(StringComparer.Ordinal), directories);
    }

    [Fact]
    public void Corpus_StaysSmall()
    {
        var files = Directory.GetFiles(Corpus, "*", SearchOption.AllDirectories).Select(f => new FileInfo(f)).ToArray();

        Assert.All(files, f => Assert.True(f.Length <= 4096, $"{f.FullName} has {f.Length} bytes; corpus inputs stay under 4 KiB"));
        Assert.True(files.Sum(f => f.Length) <= 512 * 1024, "the corpus is over 512 KiB");
    }

    [Fact]
    public void Invariants_TickBeyondTheLimits_IsAViolation()
    {
        var tick = new Core.Model.Tick("AAPL", 0, 1e16, 1, Core.Model.TradeId.None, null, Core.Model.AssetClass.Stock);

        Assert.Throws<InvariantViolationException>(() => Invariants.Tick(tick, "test"));
    }

    private static string FindCorpus()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var corpus = Path.Combine(dir.FullName, "fuzz", "corpus");
            if (Directory.Exists(corpus) && File.Exists(Path.Combine(dir.FullName, "Breadboard.slnx")))
            {
                return corpus;
            }
        }

        throw new DirectoryNotFoundException($"no fuzz/corpus beside a Breadboard.slnx above {AppContext.BaseDirectory}");
    }
}
