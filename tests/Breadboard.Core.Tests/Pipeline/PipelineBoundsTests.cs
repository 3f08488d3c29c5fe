using System.Text;
using Breadboard.Core.Pipeline;

namespace Breadboard.Core.Tests.Pipeline;

/// <summary>Definitions that parse but would hang or crash a run, and YAML that would exhaust memory, are refused with the field's path.</summary>
public class PipelineBoundsTests
{
    private static IReadOnlyList<string> Errors(string text, string source = "p.yaml") =>
        Assert.Throws<PipelineConfigException>(() => PipelineLoader.Parse(text, source)).Errors;

    private static string Windows(string windows) => $"""
        version: 1
        windows:
        {windows}
        rules: []
        """;

    [Fact]
    public void Parse_HoppingWindowOfADayEveryMillisecond_IsRefusedForWindowsPerTick()
    {
        var errors = Errors(Windows("""  - { name: h, type: hopping, size: 1d, slide: 1ms }"""));

        Assert.Equal(["p.yaml: windows: a tick would belong to 86,400,000 windows; at most 2,000 are allowed (make a hopping window's slide larger or its size smaller)"], errors);
    }

    [Fact]
    public void Parse_WindowsPerTickAddUpOverTheWholeDefinition()
    {
        var errors = Errors(Windows("""
              - { name: a, type: hopping, size: 1000m, slide: 1m }
              - { name: b, type: hopping, size: 1000m, slide: 1m }
              - { name: c, type: tumbling, size: 1m }
            """));

        Assert.Contains("a tick would belong to 2,001 windows", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ADayEveryMinute_IsAllowed() =>
        Assert.Single(PipelineLoader.Parse(Windows("""  - { name: d, type: hopping, size: 1d, slide: 1m }"""), "p.yaml").Windows);

    [Theory]
    [InlineData("  - { name: t, type: tumbling, size: 3000000d }", "p.yaml: windows[0].size: must be at most 366d (got 3000000d)")]
    [InlineData("  - { name: s, type: session, gap: 367d }", "p.yaml: windows[0].gap: must be at most 366d (got 367d)")]
    [InlineData("  - { name: h, type: hopping, size: 999999999d, slide: 1d }", "p.yaml: windows[0].size: must be at most 366d (got 999999999d)")]
    public void Parse_WindowLongerThanAYear_IsRefusedWithItsPath(string window, string error) =>
        Assert.Contains(error, Errors(Windows(window)));

    [Theory]
    [InlineData("out_of_orderness: 8d", "p.yaml: out_of_orderness: must be at most 7d (got 8d)")]
    [InlineData("dedup_horizon: 30d", "p.yaml: dedup_horizon: must be at most 7d (got 30d)")]
    public void Parse_TolerancesBeyondAWeek_AreRefused(string line, string error) =>
        Assert.Equal([error], Errors(Windows("  - { name: t, type: tumbling, size: 1m }") + "\n" + line));

    [Fact]
    public void Parse_MoreWindowsThanAllowed_IsRefusedWithoutCheckingEachOne()
    {
        var many = string.Join('\n', Enumerable.Range(0, 33).Select(i => $"  - {{ name: w{i}, type: tumbling, size: 1m }}"));

        Assert.Equal(["p.yaml: windows: has 33 windows; a pipeline may have at most 32"], Errors(Windows(many)));
    }

    [Fact]
    public void Parse_AMillionWindows_IsRefusedForItsLength()
    {
        var json = new StringBuilder("{\"windows\":[");
        for (var i = 0; i < 1_000_000; i++)
        {
            json.Append(i == 0 ? "" : ",").Append("{\"name\":\"w\",\"type\":\"tumbling\",\"size\":\"1m\"}");
        }

        json.Append("]}");

        var error = Assert.Single(Errors(json.ToString(), "p.json"));

        Assert.StartsWith("p.json: (top): the file is 43,000,013 characters long; a pipeline definition may have at most 1,048,576", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MoreRulesThanAllowed_IsRefused()
    {
        var rules = string.Join('\n', Enumerable.Range(0, 257).Select(i => $"  - {{ name: r{i}, window: t, type: price_change, op: '<=', threshold_percent: -5 }}"));
        var text = $"""
            windows:
              - {"{"} name: t, type: tumbling, size: 1m {"}"}
            rules:
            {rules}
            """;

        Assert.Equal(["p.yaml: rules: has 257 rules; a pipeline may have at most 256"], Errors(text));
    }

    /// <summary>Nine levels of ten aliases: a billion nodes from 800 bytes (38 s and 8 GB before the bound).</summary>
    [Theory]
    [InlineData(9)]
    [InlineData(12)]
    public void Parse_BillionLaughs_IsRefusedBeforeExpanding(int levels)
    {
        var yaml = new StringBuilder("a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        for (var i = 1; i <= levels; i++)
        {
            var previous = $"*a{i - 1}";
            yaml.Append($"a{i}: &a{i} [{string.Join(',', Enumerable.Repeat(previous, 10))}]\n");
        }

        var error = Assert.Single(Errors(yaml.ToString()));

        Assert.EndsWith("the document expands to more than 100,000 nodes (YAML aliases count each time they are used); a pipeline needs a few hundred", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_AliasesWithinTheBound_StillWork()
    {
        var definition = PipelineLoader.Parse("""
            windows:
              - &minute { name: "1m", type: tumbling, size: 60s }
            rules:
              - { name: drop, window: "1m", type: price_change, op: "<=", threshold_percent: -5 }
            """, "p.yaml");

        Assert.Equal("1m", Assert.Single(definition.Windows).Name);
    }

    /// <summary>
    /// Found by fuzzing (fuzz/corpus/pipeline/crash-*): YamlDotNet resolved an alias to a later anchor, and as a
    /// mapping key the cycle overflowed the stack, which kills the process.
    /// </summary>
    [Theory]
    [InlineData("&-\n*x :\n&x :", "line 2: alias *x names no anchor before it")]
    [InlineData("a: *b\nb: &b 1", "line 1: alias *b names no anchor before it")]
    [InlineData("&a [*a]", "line 1: alias *a names no anchor before it")]
    [InlineData("a: *undefined", "line 1: alias *undefined names no anchor before it")]
    public void Parse_AliasToAnAnchorNotYetComplete_IsRefusedWithoutOverflowingTheStack(string yaml, string expected) =>
        Assert.Equal(["p.yaml: " + expected], Errors(yaml));

    [Theory]
    [InlineData("p.yaml")]
    [InlineData("p.json")]
    public void Parse_DeeplyNestedDocument_IsRefusedWithoutOverflowingTheStack(string source)
    {
        var deep = new string('[', 100_000) + new string(']', 100_000);

        var error = Assert.Single(Errors(deep, source));

        Assert.Contains(source.EndsWith(".json", StringComparison.Ordinal) ? "not valid JSON" : "nested deeper than 32 levels", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_FutureBlock_SetsTheGuardAndRoundTrips()
    {
        var definition = PipelineLoader.Parse(Windows("  - { name: t, type: tumbling, size: 1m }") + "\nfuture: { clock_skew: 5m, max_jump: 2d, confirm: 50 }", "p.yaml");

        Assert.Equal(new FutureGuard(300_000, 172_800_000, 50), definition.Future);
        Assert.Equal(definition.Fingerprint(), PipelineLoader.Parse(PipelineLoader.ToYaml(definition), "p.yaml").Fingerprint());
        Assert.Contains("future=", definition.Fingerprint(), StringComparison.Ordinal);
        Assert.DoesNotContain("future=", PipelineDefinition.Default.Fingerprint(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("future: { confirm: 1 }", "p.yaml: future.confirm: must be a whole number of ticks from 2 to 10000 (got '1')")]
    [InlineData("future: { confirm: 2.5 }", "p.yaml: future.confirm: must be a whole number of ticks from 2 to 10000 (got '2.5')")]
    [InlineData("future: { max_jump: soon }", "p.yaml: future.max_jump: must be a duration like 60s, 5m, 500ms or 1h (got 'soon')")]
    [InlineData("future: { clock_skew: 400d }", "p.yaml: future.clock_skew: must be at most 366d (got 400d)")]
    [InlineData("future: { clockskew: 1h }", "p.yaml: future.clockskew: unknown field; allowed here: clock_skew, max_jump, confirm")]
    [InlineData("future: 1h", "p.yaml: future: must be a mapping with clock_skew, max_jump and confirm")]
    public void Parse_BadFutureBlock_NamesTheField(string line, string error) =>
        Assert.Equal([error], Errors(Windows("  - { name: t, type: tumbling, size: 1m }") + "\n" + line));
}
