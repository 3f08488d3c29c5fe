using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Rules;
using Breadboard.Core.Tests.Engine;
using CsCheck;

namespace Breadboard.Core.Tests.Pipeline;

public class PipelineLoaderTests
{
    private const string DefaultYaml = """
        version: 1
        out_of_orderness: 5s
        dedup_horizon: 10m
        windows:
          - name: "1m"
            type: tumbling
            size: 60s
          - name: "5m"
            type: hopping
            size: 5m
            slide: 60s
          - name: "session"
            type: session
            gap: 30s
        aggregates: [open, high, low, close, volume, vwap, trades]
        rules:
          - name: price_drop
            window: "5m"
            type: price_change
            op: "<="
            threshold_percent: -5
          - name: price_spike
            window: "5m"
            type: price_change
            op: ">="
            threshold_percent: 5
          - name: volume_surge
            window: "1m"
            type: volume_surge
            factor: 5
            lookback: 20
        """;

    private static void AssertEquivalent(PipelineDefinition expected, PipelineDefinition actual)
    {
        Assert.Equal(expected.Fingerprint(), actual.Fingerprint());
        Assert.Equal(expected.Aggregates, actual.Aggregates);
        Assert.Equal(expected.Windows, actual.Windows);
        Assert.Equal(expected.Rules, actual.Rules);
    }

    private static IReadOnlyList<string> Errors(string text, string source = "pipeline.yaml") =>
        Assert.Throws<PipelineConfigException>(() => PipelineLoader.Parse(text, source)).Errors;

    /// <summary>The default YAML with one line replaced, so each error case is a small edit of a valid file.</summary>
    private static string DefaultWith(string line, string replacement)
    {
        Assert.Contains(line, DefaultYaml, StringComparison.Ordinal);
        return DefaultYaml.Replace(line, replacement, StringComparison.Ordinal);
    }

    private static void AssertOneError(string text, string expectedStart)
    {
        var errors = Errors(text);
        Assert.True(errors.Count == 1, string.Join("\n", errors));
        Assert.StartsWith(expectedStart, errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WithDefaultYaml_EqualsTheBuiltInDefault() =>
        AssertEquivalent(PipelineDefinition.Default, PipelineLoader.Parse(DefaultYaml, "pipeline.yaml"));

    [Fact]
    public void Parse_WithShippedConfigFile_EqualsTheBuiltInDefault()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "config", "pipeline.yaml")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        var path = Path.Combine(dir.FullName, "config", "pipeline.yaml");

        AssertEquivalent(PipelineDefinition.Default, PipelineLoader.Parse(File.ReadAllText(path), path));
    }

    [Fact]
    public void Parse_WithShippedIndicatorsFile_IsTheDefaultPlusTheIssuesIndicatorsAndConditions()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "config", "indicators.yaml")))
        {
            dir = dir.Parent;
        }

        Assert.NotNull(dir);
        var path = Path.Combine(dir.FullName, "config", "indicators.yaml");
        var definition = PipelineLoader.Parse(File.ReadAllText(path), path);

        AssertEquivalent(PipelineDefinition.Default, definition with { Indicators = [], Rules = [.. definition.Rules.Take(3)] });
        Assert.Equal(["sma_fast", "sma_slow", "ema12", "rsi14", "vol_z", "bb", "atr14"], definition.Indicators.Select(i => i.Name));
        Assert.Equal(["golden_cross", "rsi_hot", "volume_anomaly", "band_break"], definition.Rules.Skip(3).Select(r => r.Name));
        Assert.All(definition.Rules.Skip(3), r => Assert.Same(ExpressionRule.Instance, r.Kind));
    }

    [Fact]
    public void ToYaml_WithDefault_ParsesBackToAnEqualDefinition() =>
        AssertEquivalent(PipelineDefinition.Default, PipelineLoader.Parse(PipelineLoader.ToYaml(PipelineDefinition.Default), "round-trip.yaml"));

    [Fact]
    public void ToYaml_WithRandomDefinitions_ParsesBackToEqualDefinitions() =>
        EngineGen.Definition.Sample(
            definition => AssertEquivalent(definition, PipelineLoader.Parse(PipelineLoader.ToYaml(definition), "round-trip.yaml")),
            iter: 500,
            print: d => PipelineLoader.ToYaml(d));

    [Fact]
    public void ToYaml_WithoutRules_ParsesBackToADefinitionWithoutRules()
    {
        var definition = PipelineDefinition.Default with { Rules = [] };

        AssertEquivalent(definition, PipelineLoader.Parse(PipelineLoader.ToYaml(definition), "round-trip.yaml"));
    }

    [Fact]
    public void ToYaml_WithOddDurationsAndThresholds_ParsesBackExactly()
    {
        var definition = new PipelineDefinition
        {
            OutOfOrdernessMs = 0,
            DedupHorizonMs = 7_200_000,
            Windows = [WindowDefinition.Tumbling("a", 1_500), WindowDefinition.Hopping("b", 3_600_000, 90_000), WindowDefinition.Session("c", 1)],
            Aggregates = [Aggregate.Open, Aggregate.Close, Aggregate.Volume],
            Rules =
            [
                RuleDefinition.PriceChange("tiny", "a", ComparisonOp.GreaterOrEqual, 0.1 + 0.2),
                RuleDefinition.PriceChange("huge", "b", ComparisonOp.LessOrEqual, -1e-7),
                RuleDefinition.VolumeSurge("surge", "c", 2.5, 10_000),
            ],
        };

        AssertEquivalent(definition, PipelineLoader.Parse(PipelineLoader.ToYaml(definition), "round-trip.yaml"));
    }

    [Fact]
    public void Parse_WithJson_ReadsTheSameDefinition()
    {
        const string json = """
            {
              "version": 1,
              "out_of_orderness": "5s",
              "dedup_horizon": "10m",
              "windows": [
                { "name": "1m", "type": "tumbling", "size": "60s" },
                { "name": "5m", "type": "hopping", "size": "5m", "slide": "60s" },
                { "name": "session", "type": "session", "gap": "30s" }
              ],
              "aggregates": ["open", "high", "low", "close", "volume", "vwap", "trades"],
              "rules": [
                { "name": "price_drop", "window": "5m", "type": "price_change", "op": "<=", "threshold_percent": -5 },
                { "name": "price_spike", "window": "5m", "type": "price_change", "op": ">=", "threshold_percent": 5 },
                { "name": "volume_surge", "window": "1m", "type": "volume_surge", "factor": 5, "lookback": 20 }
              ]
            }
            """;

        AssertEquivalent(PipelineDefinition.Default, PipelineLoader.Parse(json, "pipeline.json"));
    }

    [Fact]
    public void Parse_WithJsonError_NamesTheJsonFileAndField()
    {
        var errors = Assert.Throws<PipelineConfigException>(() => PipelineLoader.Parse("""{"windows": [], "extra": 1}""", "conf/p.json")).Errors;

        Assert.Contains(errors, e => e.StartsWith("conf/p.json: extra: unknown field", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("conf/p.json: windows: ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("100ms", 100)]
    [InlineData("2s", 2_000)]
    [InlineData("3m", 180_000)]
    [InlineData("3min", 180_000)]
    [InlineData("2h", 7_200_000)]
    [InlineData("1d", 86_400_000)]
    [InlineData("0s", 0)]
    public void Parse_WithDurationUnits_ConvertsToMilliseconds(string duration, long expected) =>
        Assert.Equal(expected, PipelineLoader.Parse(DefaultWith("out_of_orderness: 5s", $"out_of_orderness: {duration}"), "p.yaml").OutOfOrdernessMs);

    [Fact]
    public void Parse_WithoutOptionalTopLevelFields_KeepsTheDefaults()
    {
        var definition = PipelineLoader.Parse("windows:\n  - name: w\n    type: tumbling\n    size: 10s\n", "p.yaml");

        Assert.Equal(PipelineDefinition.Default.OutOfOrdernessMs, definition.OutOfOrdernessMs);
        Assert.Equal(PipelineDefinition.Default.DedupHorizonMs, definition.DedupHorizonMs);
        Assert.Equal(PipelineDefinition.Default.Aggregates, definition.Aggregates);
        Assert.Empty(definition.Rules);
    }

    [Fact]
    public void Parse_WithUnknownTopLevelField_NamesIt() =>
        AssertOneError(DefaultWith("version: 1", "version: 1\nout_of_order: 5s"), "pipeline.yaml: out_of_order: unknown field");

    [Fact]
    public void Parse_WithUnknownWindowField_NamesItsPath() =>
        AssertOneError(DefaultWith("    size: 60s", "    size: 60s\n    sizee: 60s"), "pipeline.yaml: windows[0].sizee: unknown field");

    [Fact]
    public void Parse_WithUnknownRuleField_NamesItsPath() =>
        AssertOneError(DefaultWith("    lookback: 20", "    lookback: 20\n    threshold_percent: 5"), "pipeline.yaml: rules[2].threshold_percent: unknown field");

    [Theory]
    [InlineData("60 sec")]
    [InlineData("60")]
    [InlineData("-5s")]
    [InlineData("1.5s")]
    [InlineData("5w")]
    [InlineData("[60s]")]
    public void Parse_WithBadDuration_NamesTheField(string duration) =>
        AssertOneError(DefaultWith("    size: 60s", $"    size: {duration}"), "pipeline.yaml: windows[0].size: must be a duration");

    [Fact]
    public void Parse_WithZeroWindowSize_SaysItMustBePositive() =>
        AssertOneError(DefaultWith("    gap: 30s", "    gap: 0s"), "pipeline.yaml: windows[2].gap: must be greater than zero");

    [Theory]
    [InlineData("size: 5m", "slide: 70s")]
    [InlineData("size: 5m", "slide: 10m")]
    public void Parse_WithHoppingSlideNotDividingSize_NamesTheSlide(string size, string slide) =>
        AssertOneError(
            DefaultWith("    size: 5m\n    slide: 60s", $"    {size}\n    {slide}"),
            "pipeline.yaml: windows[1].slide: must divide size evenly");

    [Fact]
    public void Parse_WithRuleNamingAMissingWindow_NamesTheRuleWindow() =>
        AssertOneError(DefaultWith("    window: \"1m\"", "    window: \"2m\""), "pipeline.yaml: rules[2].window: must name a defined window");

    [Fact]
    public void Parse_WithDuplicateWindowNames_SaysWhichName()
    {
        var errors = Errors(DefaultWith("  - name: \"session\"", "  - name: \"1m\""));

        Assert.Contains(errors, e => e.StartsWith("pipeline.yaml: windows: window name '1m' is used more than once", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_WithDuplicateRuleNames_SaysWhichName() =>
        AssertOneError(DefaultWith("  - name: price_spike", "  - name: price_drop"), "pipeline.yaml: rules: rule name 'price_drop' is used more than once");

    [Theory]
    [InlineData("\"<\"")]
    [InlineData("\"=>\"")]
    [InlineData("le")]
    public void Parse_WithBadOp_NamesTheOp(string op) =>
        AssertOneError(DefaultWith("    op: \"<=\"", $"    op: {op}"), "pipeline.yaml: rules[0].op: must be \"<=\" or \">=\"");

    [Theory]
    [InlineData("Price-Drop")]
    [InlineData("price drop")]
    [InlineData("price.drop")]
    public void Parse_WithBadRuleName_NamesTheRuleName(string name)
    {
        var errors = Errors(DefaultWith("  - name: price_drop", $"  - name: \"{name}\""));

        Assert.Contains(errors, e => e.StartsWith("pipeline.yaml: rules[0].name: ", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_WithBadWindowType_NamesTheType() =>
        Assert.Contains(
            "pipeline.yaml: windows[0].type: must be tumbling, hopping or session (got 'sliding')",
            Errors(DefaultWith("    type: tumbling", "    type: sliding")));

    [Fact]
    public void Parse_WithBadRuleType_NamesTheType() =>
        AssertOneError(DefaultWith("    type: volume_surge", "    type: volume_spike"), "pipeline.yaml: rules[2].type: must be price_change, volume_surge or expression");

    [Theory]
    [InlineData("    size: 60s\n", "", "windows[0].size: is required")]
    [InlineData("    slide: 60s\n", "", "windows[1].slide: is required")]
    [InlineData("    gap: 30s\n", "", "windows[2].gap: is required")]
    [InlineData("    type: tumbling\n", "", "windows[0].type: is required")]
    [InlineData("  - name: \"1m\"\n    type: tumbling", "  - type: tumbling", "windows[0].name: is required")]
    [InlineData("    threshold_percent: -5\n", "", "rules[0].threshold_percent: is required")]
    [InlineData("    op: \">=\"\n", "", "rules[1].op: must be")]
    [InlineData("    factor: 5\n", "", "rules[2].factor: is required")]
    [InlineData("    lookback: 20", "", "rules[2].lookback: is required")]
    [InlineData("    window: \"1m\"\n", "", "rules[2].window: is required")]
    [InlineData("  - name: volume_surge\n    window", "  - window", "rules[2].name: is required")]
    public void Parse_WithoutARequiredField_NamesIt(string line, string replacement, string expected) =>
        Assert.Contains(Errors(DefaultWith(line, replacement)), e => e.StartsWith("pipeline.yaml: " + expected, StringComparison.Ordinal));

    [Theory]
    [InlineData("factor: 5", "factor: 0", "rules[2].factor: must be greater than 0")]
    [InlineData("lookback: 20", "lookback: 0", "rules[2].lookback: must be a whole number")]
    [InlineData("lookback: 20", "lookback: 2.5", "rules[2].lookback: must be a whole number")]
    [InlineData("lookback: 20", "lookback: 10001", "rules[2].lookback: must be a whole number")]
    [InlineData("threshold_percent: 5", "threshold_percent: five", "rules[1].threshold_percent: must be a number")]
    [InlineData("threshold_percent: 5", "threshold_percent: .nan", "rules[1].threshold_percent: must be a number")]
    [InlineData("version: 1", "version: 2", "version: must be 1")]
    [InlineData("aggregates: [open, high, low, close, volume, vwap, trades]", "aggregates: [open, close, median, volume]", "aggregates[2]: must be one of")]
    public void Parse_WithBadValue_NamesTheField(string line, string replacement, string expected) =>
        AssertOneError(DefaultWith(line, replacement), "pipeline.yaml: " + expected);

    [Fact]
    public void Parse_WithPriceRuleButNoCloseAggregate_SaysTheRuleNeedsIt()
    {
        var errors = Errors(DefaultWith("aggregates: [open, high, low, close, volume, vwap, trades]", "aggregates: [open, volume]"));

        Assert.Contains(errors, e => e.StartsWith("pipeline.yaml: rules[0]: a price_change rule needs the open and close aggregates", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_WithSeveralErrors_ReportsThemAllTogether()
    {
        var text = DefaultYaml
            .Replace("    size: 60s", "    size: soon", StringComparison.Ordinal)
            .Replace("    slide: 60s", "    slide: 70s", StringComparison.Ordinal)
            .Replace("    op: \"<=\"", "    op: \"<\"", StringComparison.Ordinal)
            .Replace("    window: \"1m\"", "    window: \"2m\"", StringComparison.Ordinal)
            .Replace("version: 1", "version: 1\nbogus: true", StringComparison.Ordinal);

        var e = Assert.Throws<PipelineConfigException>(() => PipelineLoader.Parse(text, "conf/pipeline.yaml"));

        Assert.Equal(
            [
                "conf/pipeline.yaml: bogus: ",
                "conf/pipeline.yaml: windows[0].size: ",
                "conf/pipeline.yaml: windows[1].slide: ",
                "conf/pipeline.yaml: rules[0].op: ",
                "conf/pipeline.yaml: rules[2].window: ",
            ],
            e.Errors.Select(m => m[..(m.IndexOf(": ", "conf/pipeline.yaml: ".Length, StringComparison.Ordinal) + 2)]));
        Assert.Equal(string.Join(Environment.NewLine, e.Errors), e.Message);
    }

    // Found by fuzzing (fuzz/corpus/pipeline/crash-*): YamlDotNet throws InvalidOperationException or
    // ArgumentException, not YamlException, on these, and they escaped Parse.
    [Theory]
    [InlineData(":\n[\nU")]
    [InlineData("\0\0: \u007f")]
    [InlineData("...\rP\u001f ")]
    [InlineData("!!A!!![]")]
    public void Parse_WithYamlTheParserThrowsOtherExceptionsOn_SaysItIsNotValidYaml(string text)
    {
        var error = Assert.Single(Errors(text));

        Assert.StartsWith("pipeline.yaml: (top): not valid YAML: ", error, StringComparison.Ordinal);
    }

    // Found by fuzzing (fuzz/corpus/pipeline/crash-*): JSON null was refused with no error at all, and a lone
    // surrogate escape threw InvalidOperationException out of Parse.
    [Theory]
    [InlineData("null", "(top): must be a mapping")]
    [InlineData("""{"windows":"\ud800"}""", "(top): not valid JSON: ")]
    [InlineData("""{"\udc00":1}""", "(top): not valid JSON: ")]
    public void Parse_WithUnusableJson_SaysWhy(string text, string expected)
    {
        var error = Assert.Single(Errors(text, "pipeline.json"));

        Assert.StartsWith("pipeline.json: " + expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("windows: [unclosed", "line ")]
    [InlineData("", "(top): the file is empty")]
    [InlineData("- a\n- b\n", "(top): must be a mapping")]
    public void Parse_WithUnusableDocument_SaysWhy(string text, string expected)
    {
        var error = Assert.Single(Errors(text));

        Assert.StartsWith("pipeline.yaml: " + expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_WithEmptyWindowList_SaysWindowsAreNeeded() =>
        Assert.Contains(Errors("windows: []\n"), e => e.StartsWith("pipeline.yaml: windows: must be a non-empty list", StringComparison.Ordinal));
}
