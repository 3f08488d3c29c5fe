using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Rules;
using CsCheck;
using static Breadboard.Core.Tests.Engine.Kit;

namespace Breadboard.Core.Tests.Pipeline;

/// <summary>
/// What <c>validate-config</c> says about bad <c>indicators:</c> and <c>when:</c> definitions (docs/RULES.md,
/// "Errors"): one error per problem, with its field path and, in an expression, its column; every problem of a file
/// at once; and never anything thrown but <see cref="PipelineConfigException"/>.
/// </summary>
public class IndicatorLoaderErrorTests
{
    private const string Fields = "open, high, low, close, volume, vwap, trades";

    /// <summary>The example file of docs/RULES.md (the issue's), with a 5m window beside the 1m one.</summary>
    private const string Example = """
        windows:
          - { name: "1m", type: tumbling, size: 60s }
          - { name: "5m", type: tumbling, size: 5m }
        aggregates: [open, high, low, close, volume, vwap, trades]
        indicators:
          - { name: sma_fast, window: "1m", type: sma,       of: close,  period: 5 }
          - { name: sma_slow, window: "1m", type: sma,       of: close,  period: 20 }
          - { name: ema12,    window: "1m", type: ema,       of: close,  period: 12 }
          - { name: rsi14,    window: "1m", type: rsi,       of: close,  period: 14 }
          - { name: vol_z,    window: "1m", type: zscore,    of: volume, period: 20 }
          - { name: bb,       window: "1m", type: bollinger, of: close,  period: 20, k: 2 }
          - { name: atr14,    window: "1m", type: atr,                   period: 14 }
        rules:
          - { name: golden_cross,   window: "1m", when: "crosses_above(sma_fast, sma_slow)" }
          - { name: rsi_hot,        window: "1m", when: "rsi14 > 70", for: 3 }
          - { name: volume_anomaly, window: "1m", when: "vol_z >= 3 and close > open" }
          - { name: band_break,     window: "1m", when: "crosses_below(close, bb.lower)" }
        """;

    private const string KnownOf1m = "sma_fast, sma_slow, ema12, rsi14, vol_z, bb.upper, bb.middle, bb.lower, atr14";

    /// <summary>The example with one line replaced.</summary>
    private static string ExampleWith(string line, string replacement)
    {
        Assert.Contains(line, Example, StringComparison.Ordinal);
        return Example.Replace(line, replacement, StringComparison.Ordinal);
    }

    /// <summary>The example with the rules replaced by one rule over the 1m window with this condition.</summary>
    private static string ExampleWhen(string when) =>
        Example[..Example.IndexOf("rules:", StringComparison.Ordinal)] + $"rules:\n  - {{ name: r, window: \"1m\", when: \"{when}\" }}\n";

    private static IReadOnlyList<string> Errors(string text) =>
        Assert.Throws<PipelineConfigException>(() => PipelineLoader.Parse(text, "pipeline.yaml")).Errors;

    private static void AssertErrors(string text, params string[] expected) =>
        Assert.Equal(expected.Select(e => "pipeline.yaml: " + e), Errors(text));

    [Fact]
    public void Parse_WithTheExampleFile_ReadsEveryIndicatorAndRule()
    {
        var definition = PipelineLoader.Parse(Example, "pipeline.yaml");

        Assert.Equal(["sma_fast", "sma_slow", "ema12", "rsi14", "vol_z", "bb", "atr14"], definition.Indicators.Select(i => i.Name));
        Assert.Equal(["golden_cross", "rsi_hot", "volume_anomaly", "band_break"], definition.Rules.Select(r => r.Name));
        Assert.Equal(3, ExpressionRule.SettingsOf(definition.Rules[1]).For);
    }

    [Fact]
    public void Parse_WithAnUnknownBarFieldInOf_SaysWhatOfMayBe() => AssertErrors(
        ExampleWith("of: volume, period: 20", "of: volumes, period: 20"),
        $"indicators[4].of: unknown 'volumes': not a bar field ({Fields}) or an indicator defined above");

    [Fact]
    public void Parse_WithAnUnknownNameInWhen_GivesItsColumnAndTheWindowsIndicators() => AssertErrors(
        ExampleWhen("rsi14 > 70 and rsi15 < 90"),
        $"rules[0].when: column 16: unknown name 'rsi15': not a bar field ({Fields}) or an indicator of window '1m' ({KnownOf1m})");

    [Fact]
    public void Parse_WithAnUnknownFunctionInWhen_ListsTheKnownOnes() => AssertErrors(
        ExampleWhen("macd(close) > 0"),
        "rules[0].when: column 1: unknown function 'macd'; known: prev, change_pct, crosses_above, crosses_below");

    [Fact]
    public void Parse_WithABandNamedWithoutItsLine_AsksForOneOfItsValues() => AssertErrors(
        ExampleWhen("close > bb"),
        "rules[0].when: column 9: 'bb' is a bollinger indicator: name one of its values, bb.upper, bb.middle, bb.lower");

    [Fact]
    public void Parse_WithAnIndicatorOverOneDefinedBelowIt_SaysItIsUsedBeforeItIsDefined() => AssertErrors(
        ExampleWith(
            "  - { name: sma_fast, window: \"1m\", type: sma,       of: close,  period: 5 }",
            "  - { name: rsi_sma,  window: \"1m\", type: sma,       of: rsi14,  period: 5 }\n  - { name: sma_fast, window: \"1m\", type: sma,       of: close,  period: 5 }"),
        "indicators[0].of: 'rsi14' is used before it is defined (indicators[4]); define an indicator before those computed over it");

    [Fact]
    public void Parse_WithAnIndicatorOverAnotherWindowsIndicator_NamesBothWindows() => AssertErrors(
        ExampleWith(
            "  - { name: atr14,    window: \"1m\", type: atr,                   period: 14 }",
            "  - { name: atr14,    window: \"1m\", type: atr,                   period: 14 }\n  - { name: rsi5m, window: \"5m\", type: rsi, of: close, period: 14 }\n  - { name: rsi5m_sma, window: \"1m\", type: sma, of: rsi5m, period: 3 }"),
        "indicators[8].of: 'rsi5m' is computed over window '5m'; this indicator's window is '1m'");

    [Fact]
    public void Parse_WithARuleOverAnotherWindowThanItsIndicators_GivesTheColumnAndBothWindows() => AssertErrors(
        ExampleWith("- { name: rsi_hot,        window: \"1m\",", "- { name: rsi_hot,        window: \"5m\","),
        "rules[1].when: column 1: 'rsi14' is computed over window '1m'; this rule's window is '5m'");

    [Theory]
    [InlineData("rsi14 + 70", "column 1: the expression must be a condition (a comparison, a crossing, or them joined with and/or/not), not a number")]
    [InlineData("rsi14 > 70 and volume", "column 16: 'and' takes conditions, but 'volume' is a number; compare it with something")]
    [InlineData("not close", "column 5: 'not' takes conditions, but 'close' is a number; compare it with something")]
    [InlineData("(rsi14 > 70) * 2 > 1", "column 2: '*' takes numbers, but 'rsi14 > 70' is a condition")]
    [InlineData("prev(close > open, 1) > 0", "column 6: prev takes numbers, but 'close > open' is a condition")]
    [InlineData("crosses_above(sma_fast)", "column 1: crosses_above takes 2 arguments, (a, b), got 1")]
    [InlineData("change_pct(close, 0) > 5", "column 19: change_pct's n must be a whole number of bars from 1 to 10000")]
    [InlineData("prev(close, volume) > 5", "column 13: prev's n must be a whole number of bars from 1 to 10000")]
    [InlineData("close > open > high", "column 14: comparisons do not chain: write 'a > b and b > c'")]
    [InlineData("close >", "column 8: expected a number, a name or '(', but the expression ends")]
    [InlineData("close > > open", "column 9: expected a number, a name or '(', got '>'")]
    [InlineData("(close > open", "column 14: expected ')', but the expression ends")]
    [InlineData("close > 2open", "column 10: a number must not run into a name; put an operator between them")]
    [InlineData("crosses_above > 1", "column 1: 'crosses_above' is a function: write crosses_above(...)")]
    public void Parse_WithATypeOrSyntaxErrorInWhen_GivesOneErrorWithItsColumn(string when, string expected) =>
        AssertErrors(ExampleWhen(when), "rules[0].when: " + expected);

    [Fact]
    public void Parse_WithTwoIndicatorsOverEachOther_ReportsTheCycleOnceAtItsFirstMember() => AssertErrors(
        ExampleWith(
            "  - { name: atr14,    window: \"1m\", type: atr,                   period: 14 }",
            "  - { name: atr14,    window: \"1m\", type: atr,                   period: 14 }\n  - { name: a, window: \"1m\", type: ema, of: b, period: 3 }\n  - { name: b, window: \"1m\", type: sma, of: c, period: 3 }\n  - { name: c, window: \"1m\", type: sma, of: a.upper, period: 3 }"),
        "indicators[7].of: indicators are computed over each other in a cycle: a \u2192 b \u2192 c \u2192 a");

    [Fact]
    public void Parse_WithAnIndicatorOverItself_SaysSo() => AssertErrors(
        ExampleWith("of: close,  period: 12", "of: ema12,  period: 12"),
        "indicators[2].of: 'ema12' is computed over itself");

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    [InlineData("2.5")]
    [InlineData("10001")]
    public void Parse_WithAPeriodOutOfRange_SaysWhatAPeriodMayBe(string period) => AssertErrors(
        ExampleWith("period: 14 }\n  - { name: vol_z", $"period: {period} }}\n  - {{ name: vol_z"),
        $"indicators[3].period: must be a whole number of bars from 1 to 10000 (got '{period}')");

    [Fact]
    public void Parse_WithBadValuesOfEveryOtherIndicatorField_GivesOneErrorEach() => AssertErrors(
        """
        windows:
          - { name: "1m", type: tumbling, size: 60s }
        aggregates: [open, close, volume]
        indicators:
          - { name: bb, window: "1m", type: bollinger, of: close, period: 20, k: 0 }
          - { name: atr14, window: "1m", type: atr, period: 14 }
          - { name: sma_v, window: "1m", type: sma, of: vwap, period: 3 }
          - { name: Fast, window: "1m", type: sma, of: close, period: 3 }
          - { name: ema3, window: "1m", type: ema, of: close, period: 3, k: 2 }
          - { name: ema3, window: "1m", type: macd, of: close, period: 3 }
          - { name: z, window: "1m", type: zscore, period: 3 }
        rules: []
        """,
        "indicators[0].k: must be a number of standard deviations above 0 and at most 1000 (got '0')",
        "indicators[1]: atr reads high, which the pipeline does not emit; add it to aggregates",
        "indicators[1]: atr reads low, which the pipeline does not emit; add it to aggregates",
        "indicators[2].of: 'vwap' is a bar field the pipeline does not emit; add it to aggregates",
        "indicators[3].name: must be lower-case letters, digits and underscores, not start with a digit, and not be a bar field or and/or/not (got 'Fast')",
        "indicators[4].k: unknown field; allowed here: name, window, type, of, period",
        "indicators[5].name: indicator name 'ema3' is used more than once",
        "indicators[5].type: must be sma, ema, rsi, zscore, bollinger or atr (got 'macd')",
        $"indicators[6].of: is required: a bar field ({Fields}) or an indicator defined above");

    [Fact]
    public void Parse_WithAForOutOfRangeOrAnEmptyWhen_SaysWhatTheyMayBe() => AssertErrors(
        Example[..Example.IndexOf("rules:", StringComparison.Ordinal)] + """
            rules:
              - { name: r1, window: "1m", when: "rsi14 > 70", for: 0 }
              - { name: r2, window: "1m", when: "" }
              - { name: r3, window: "1m", type: expression }
              - { name: r4, window: "1m", when: "rsi14 > 70", for: x }
            """,
        "rules[0].for: must be a whole number of bars from 1 to 10000 (got '0')",
        "rules[1].when: is required: a condition such as \"rsi14 > 70\"",
        "rules[2].when: is required: a condition such as \"rsi14 > 70\"",
        "rules[3].for: must be a number (got 'x')");

    [Fact]
    public void Parse_WithAListWhereOneValueBelongs_SaysSoRatherThanThatItIsMissing() => AssertErrors(
        """
        windows:
          - { name: "1m", type: tumbling, size: 60s }
        indicators:
          - { name: s, window: "1m", type: sma, of: [close], period: 3 }
          - { name: t, window: "1m", type: sma, of: close, period: [3] }
        rules:
          - { name: r, window: "1m", when: [close > 1], for: { bars: 3 } }
        """,
        $"indicators[0].of: must be one name, not a list or mapping: a bar field ({Fields}) or an indicator defined above",
        "indicators[1].period: must be a number, not a list or mapping",
        "rules[0].for: must be a number, not a list or mapping",
        "rules[0].when: must be text, not a list or mapping: a condition such as \"rsi14 > 70\"");

    [Fact]
    public void Parse_WithAnIndicatorInError_SaysNothingMoreWhereItIsNamed()
    {
        // sma_fast has an unknown type and sma_slow an unknown window: the indicator computed over sma_fast and the
        // rules naming them say nothing more.
        var text = ExampleWith("type: sma,       of: close,  period: 5", "type: smaa,      of: close,  period: 5");
        text = text.Replace("{ name: sma_slow, window: \"1m\"", "{ name: sma_slow, window: \"1mm\"", StringComparison.Ordinal);
        text = text.Replace(
            "  - { name: atr14,    window: \"1m\", type: atr,                   period: 14 }",
            "  - { name: atr14,    window: \"1m\", type: atr,                   period: 14 }\n  - { name: fast_ema, window: \"1m\", type: ema, of: sma_fast, period: 3 }",
            StringComparison.Ordinal);

        AssertErrors(
            text,
            "indicators[0].type: must be sma, ema, rsi, zscore, bollinger or atr (got 'smaa')",
            "indicators[1].window: must name a defined window (1m, 5m), got '1mm'");
    }

    [Fact]
    public void Parse_WithARuleWindowInError_SaysNothingAboutItsIndicatorsWindows() => AssertErrors(
        ExampleWith("- { name: rsi_hot,        window: \"1m\",", "- { name: rsi_hot,        window: \"1h\","),
        "rules[1].window: must name a defined window (1m, 5m), got '1h'");

    [Fact]
    public void Parse_WithAProblemOfEachKind_ReportsThemAllAtOnceInFileOrder() => AssertErrors(
        """
        windows:
          - { name: "1m", type: tumbling, size: 60s }
          - { name: "5m", type: tumbling, size: 5m }
        aggregates: [open, high, low, close, volume, vwap, trades]
        indicators:
          - { name: rsi14, window: "1m", type: rsi, of: closes, period: 14 }
          - { name: rsi_sma, window: "1m", type: sma, of: ema12, period: 5 }
          - { name: ema12, window: "1m", type: ema, of: close, period: 0 }
          - { name: a, window: "1m", type: sma, of: b, period: 3 }
          - { name: b, window: "1m", type: sma, of: a, period: 3 }
          - { name: sma5m, window: "5m", type: sma, of: close, period: 3 }
        rules:
          - { name: hot, window: "1m", when: "ema12 > 70 and ema12 + 1", for: 3 }
          - { name: cross, window: "1m", when: "crosses_above(close, sma5m)" }
          - { name: typo, window: "1m", when: "clsoe > open" }
        """,
        $"indicators[0].of: unknown 'closes': not a bar field ({Fields}) or an indicator defined above",
        "indicators[1].of: 'ema12' is used before it is defined (indicators[2]); define an indicator before those computed over it",
        "indicators[2].period: must be a whole number of bars from 1 to 10000 (got '0')",
        "indicators[3].of: indicators are computed over each other in a cycle: a \u2192 b \u2192 a",
        "rules[0].when: column 16: 'and' takes conditions, but 'ema12 + 1' is a number; compare it with something",
        "rules[1].when: column 22: 'sma5m' is computed over window '5m'; this rule's window is '1m'",
        $"rules[2].when: column 1: unknown name 'clsoe': not a bar field ({Fields}) or an indicator of window '1m' (ema12)");

    private static readonly string[] Tokens =
    [
        "close", "open", "high", "low", "volume", "vwap", "trades", "rsi14", "sma_fast", "bb.upper", "bb", "bb.up", "nope",
        "70", "0", "3.5", "1e3", "-", "+", "*", "/", "<", "<=", ">", ">=", "==", "!=", "and", "or", "not", ",", "(", ")",
        "prev(", "change_pct(", "crosses_above(", "crosses_below(", "max(", "1)", "2)",
    ];

    private static readonly Gen<string> Operand = Gen.OneOf(
        "close", "volume", "vwap", "rsi14", "bb.upper", "sma_fast", "later", "70", "-0.5", "prev(close, 2)",
        "change_pct(volume, 1)", "close / (high - low)", "-vwap", "sma_fast * 2 + 1", "trades");

    private static readonly Gen<string> Comparison = Gen.OneOf(
        Gen.Select(Operand, Gen.OneOf("<", "<=", ">", ">=", "==", "!="), Operand).Select((a, op, b) => $"{a} {op} {b}"),
        Gen.Select(Gen.OneOf("crosses_above", "crosses_below"), Operand, Operand).Select((f, a, b) => $"{f}({a}, {b})"));

    private static readonly Gen<string> Condition = Gen.OneOf(Comparison, Comparison.Select(c => $"not ({c})"));

    /// <summary>Mostly conditions that compile, else any string of the language's tokens.</summary>
    private static readonly Gen<string> When = Gen.OneOf(
        Condition,
        Gen.Select(Condition, Gen.OneOf(" and ", " or "), Condition).Select((a, op, b) => a + op + b),
        Gen.OneOf(Tokens).Array[1, 14].Select(t => string.Join(' ', t)));

    private static readonly Gen<string> Period = Gen.OneOf("3", "3", "3", "3", "3", "1", "1", "0", "-1", "2.5", "x", "10001", "[1]");

    private static readonly Gen<string> Of = Gen.OneOf("close", "close", "close", "close", "vwap", "sma_fast", "bb.lower", "bb", "later", "self", "[close]");

    /// <summary>A file of the example's shape with random fields and a random condition.</summary>
    private static readonly Gen<string> File = Gen.Select(When, Gen.OneOf("1", "3", "3", "3", "0", "x"), Period, Of, Of, Gen.OneOf("1m", "1m", "5m", "1h"))
        .Select((when, forBars, period, of1, of2, window) => $$"""
            windows:
              - { name: "1m", type: tumbling, size: 60s }
              - { name: "5m", type: tumbling, size: 5m }
            aggregates: [open, high, low, close, volume, vwap, trades]
            indicators:
              - { name: sma_fast, window: "1m", type: sma, of: {{of1}}, period: {{period}} }
              - { name: self, window: "1m", type: ema, of: {{of2}}, period: 3 }
              - { name: rsi14, window: "{{window}}", type: rsi, of: close, period: 14 }
              - { name: bb, window: "1m", type: bollinger, of: close, period: 3, k: 2 }
              - { name: later, window: "1m", type: zscore, of: volume, period: 3 }
            rules:
              - { name: r, window: "1m", when: "{{when}}", for: {{forBars}} }
            """);

    [Fact]
    public void Parse_WithRandomDefinitions_ThrowsOnlyPipelineConfigExceptionWithDistinctPathedErrorsAndRunsTheRest()
    {
        var ran = 0;
        File.Sample(
            text =>
            {
                PipelineDefinition definition;
                try
                {
                    definition = PipelineLoader.Parse(text, "pipeline.yaml");
                }
                catch (PipelineConfigException e)
                {
                    Assert.NotEmpty(e.Errors);
                    Assert.Equal(e.Errors.Count, e.Errors.Distinct().Count());
                    Assert.All(e.Errors, m => Assert.Matches(@"^pipeline\.yaml: (indicators|rules)\[\d\]\.(of|period|window|when|for): ", m));

                    // One error per field, but for a condition, which may have several problems.
                    var paths = e.Errors.Select(m => m[..m.IndexOf(": ", "pipeline.yaml: ".Length, StringComparison.Ordinal)]).Where(p => !p.EndsWith(".when", StringComparison.Ordinal)).ToList();
                    Assert.Equal(paths.Count, paths.Distinct().Count());
                    Assert.All(e.Errors.Where(m => m.Contains("].when: ", StringComparison.Ordinal) && !m.Contains("is required", StringComparison.Ordinal)), m => Assert.Contains(".when: column ", m, StringComparison.Ordinal));
                    return;
                }

                // A file that loads runs: every bar of a few minutes through its indicators and its rule.
                var (engine, _) = NewEngine(definition);
                for (var k = 0; k < 30; k++)
                {
                    engine.Feed(Tick("BTC-USD", T0 + (k * Minute), 100 + (k % 7) - (k % 3), k % 5));
                }

                engine.CloseAll();
                Interlocked.Increment(ref ran);
            },
            iter: 3_000);

        Assert.True(ran >= 30, $"only {ran} of the random files loaded; the generator should make more valid ones");
    }
}
