using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Indicators;
using Breadboard.Core.Pipeline.Rules;

namespace Breadboard.Core.Tests.Indicators;

public class ExpressionRuleYamlTests
{
    [Theory]
    [InlineData("rsi14 > 70")]
    [InlineData("rsi14 >\n   70 and\tclose >= open")]
    [InlineData("rsi14 > 70 or close <= 1e-3\r\n")]
    public void ToYaml_WithWhitespaceInTheCondition_ReadsBackTheSameTextAndFingerprint(string when)
    {
        IndicatorDefinition[] indicators = [IndicatorDefinition.Rsi("rsi14", "1m", "close", 14)];
        var definition = PipelineDefinition.Default with
        {
            Indicators = indicators,
            Rules = [ExpressionRule.Define("hot", "1m", when, 2, indicators)],
        };

        var yaml = PipelineLoader.ToYaml(definition);
        var back = PipelineLoader.Parse(yaml, "p.yaml");

        Assert.Equal(when, ExpressionRule.SettingsOf(back.Rules[0]).When);
        Assert.Equal(definition.Fingerprint(), back.Fingerprint());
        Assert.Equal(yaml, PipelineLoader.ToYaml(back));
    }
}
