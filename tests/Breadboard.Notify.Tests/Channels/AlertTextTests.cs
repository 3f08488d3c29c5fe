using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Rules;
using Breadboard.Notify.Channels;

namespace Breadboard.Notify.Tests.Channels;

/// <summary>The wording email and Slack share: an expression rule's alert says its condition and its operands' values in their units.</summary>
public class AlertTextTests
{
    [Fact]
    public void Title_OfACrossing_SaysTheExpressionAndBothOperands()
    {
        var title = AlertText.Title(TestAlerts.Expression("slack", TestAlerts.Cross()));

        Assert.Equal("golden_cross BTC-USD (1m): crosses_above(sma_fast, sma_slow): sma_fast 101.25 vs 100.9", title);
    }

    [Fact]
    public void Title_OfARuleWithFor_SaysHowManyBarsAndTheIndexInItsUnit()
    {
        var title = AlertText.Title(TestAlerts.Expression("slack", TestAlerts.Hot()));

        Assert.Equal("rsi_hot BTC-USD (1m): rsi14 > 70 for 3 bars: rsi14 74.2 vs 70.0", title);
    }

    [Theory]
    [InlineData(double.NaN, 100.9, "sma_fast undefined vs 100.9")]
    [InlineData(101.25, double.NaN, "sma_fast 101.25 vs undefined")]
    public void Title_WithAnUndefinedOperand_SaysUndefined(double fast, double slow, string operands)
    {
        var title = AlertText.Title(TestAlerts.Expression("email", TestAlerts.Cross(fast: fast, slow: slow)));

        Assert.Equal($"golden_cross BTC-USD (1m): crosses_above(sma_fast, sma_slow): {operands}", title);
    }

    [Fact]
    public void Value_OfAShippedRuleThatIsNaN_IsUndefined()
    {
        var notification = TestAlerts.One("email", TestAlerts.Drop(value: double.NaN));

        Assert.Equal("undefined", AlertText.Value(notification, notification.Alerts[0]));
        Assert.Equal("price_drop BTC-USD undefined (5m)", AlertText.Title(notification));
    }

    [Fact]
    public void Rules_NameWhatEachRuleTests()
    {
        var notification = TestAlerts.Expression("email", TestAlerts.Cross(), TestAlerts.Drop(), TestAlerts.Surge(), TestAlerts.Cross("ETH-USD"));

        Assert.Equal(
            [
                "golden_cross: crosses_above(sma_fast, sma_slow)",
                "price_drop: price_change <= \u22125.0%",
                "volume_surge: volume >= 5.0\u00d7 the mean of the previous 20 bars",
            ],
            AlertText.Rules(notification));
    }

    [Fact]
    public void Describe_OfAPriceSpike_SaysItsOperatorAndThreshold()
    {
        Assert.Equal("price_change >= +5.0%", RuleText.Describe(RuleDefinition.PriceChange("price_spike", "5m", ComparisonOp.GreaterOrEqual, 5)));
        Assert.Equal("rsi14 > 70 for 3 bars", RuleText.Describe(TestAlerts.ExpressionRules.Single(r => r.Kind == ExpressionRule.Instance && r.Name == "rsi_hot")));
    }
}
