using System.Text;
using Breadboard.Notify.Policy;
using static Breadboard.Notify.Tests.Policy.PolicyKit;

namespace Breadboard.Notify.Tests.Policy;

public class SilenceTests
{
    [Theory]
    [InlineData("price_drop", null, null, "price_drop", "BTC-USD", "email", true)]
    [InlineData("price_drop", null, null, "volume_surge", "BTC-USD", "email", false)]
    [InlineData(null, "BTC-USD", null, "price_drop", "BTC-USD", "email", true)]
    [InlineData(null, "BTC-USD", null, "price_drop", "btc-usd", "email", false)]
    [InlineData(null, "BTC-USD", null, "price_drop", "BTC-USDT", "email", false)]
    [InlineData(null, "BTC-*", null, "price_drop", "BTC-USD", "email", true)]
    [InlineData(null, "BTC-*", null, "price_drop", "BTC-", "email", true)]
    [InlineData(null, "BTC-*", null, "price_drop", "ETH-BTC", "email", false)]
    [InlineData(null, null, "slack", "price_drop", "BTC-USD", "slack", true)]
    [InlineData(null, null, "slack", "price_drop", "BTC-USD", "email", false)]
    [InlineData("price_drop", "ETH-*", "email", "price_drop", "ETH-EUR", "email", true)]
    [InlineData("price_drop", "ETH-*", "email", "price_drop", "ETH-EUR", "webhook", false)]
    public void Matches_ChecksEveryGivenMatcher(string? rule, string? symbol, string? channel, string alertRule, string alertSymbol, string alertChannel, bool expected)
    {
        var silence = Mute(rule, symbol, channel);

        Assert.Equal(expected, silence.Matches(Fire(alertRule, alertSymbol, T0), alertChannel, Now0.AddMinutes(1)));
    }

    [Fact]
    public void Matches_OnlyFromStartsAtUntilBeforeEndsAt()
    {
        var silence = Mute(rule: "price_drop", starts: Now0.AddHours(1), ends: Now0.AddHours(2));
        var alert = Fire("price_drop", "BTC-USD", T0);

        Assert.False(silence.Matches(alert, "email", Now0.AddHours(1).AddTicks(-1)));
        Assert.True(silence.Matches(alert, "email", Now0.AddHours(1)));
        Assert.True(silence.Matches(alert, "email", Now0.AddHours(2).AddTicks(-1)));
        Assert.False(silence.Matches(alert, "email", Now0.AddHours(2)));
    }

    [Fact]
    public void TryCreate_WithAMatcher_GivesAFreshIdAndTrimsBlanks()
    {
        Assert.True(Silence.TryCreate(" price_drop ", "  ", null, Now0.AddTicks(1234), Now0.AddHours(2), "ops", " deploy ", out var silence, out var error));

        Assert.Null(error);
        Assert.Equal(32, silence.Id.Length);
        Assert.Equal("price_drop", silence.Rule);
        Assert.Null(silence.Symbol);
        Assert.Equal(Now0, silence.StartsAt);
        Assert.Equal("deploy", silence.Comment);
    }

    [Theory]
    [InlineData(null, null, " ", 2, "silence: give at least one of rule, symbol, channel")]
    [InlineData("price_drop", null, null, 0, "silence: ends_at must be after starts_at")]
    [InlineData("price_drop", null, null, -1, "silence: ends_at must be after starts_at")]
    [InlineData(null, "*", null, 2, "silence: symbol \"*\" matches every symbol; leave it out or give a prefix such as BTC-*")]
    [InlineData(null, "B*C", null, 2, "silence: symbol \"B*C\" may only end with '*' (a prefix such as BTC-*)")]
    public void TryCreate_Invalid_GivesOneLineError(string? rule, string? symbol, string? channel, int hours, string expected)
    {
        Assert.False(Silence.TryCreate(rule, symbol, channel, Now0, Now0.AddHours(hours), "ops", "", out var silence, out var error));

        Assert.Null(silence);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void TryCreate_UnknownRuleName_IsFine() =>
        Assert.True(Silence.TryCreate("no_such_rule", null, null, Now0, Now0.AddHours(1), null, null, out _, out _));

    [Fact]
    public void SilenceJson_RoundTrips()
    {
        var silence = Mute(rule: "price_drop", symbol: "BTC-*") with { Comment = "quoted \"text\" and ünïcode" };

        var json = SilenceJson.Serialize(silence);

        Assert.True(SilenceJson.TryParse(json, out var back, out var error), error);
        Assert.Equal(silence, back);
        Assert.Contains("\"starts_at\":\"2026-01-03T09:00:00.000Z\"", Encoding.UTF8.GetString(json), StringComparison.Ordinal);
        Assert.Contains("\"channel\":null", Encoding.UTF8.GetString(json), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[]", "silence: must be a JSON object")]
    [InlineData("{", "silence: not JSON: ")]
    [InlineData("""{"rule":"x","starts_at":"2026-01-03T09:00:00Z","ends_at":"2026-01-03T10:00:00Z"}""", "silence: \"id\" is required")]
    [InlineData("""{"id":"a","rule":"x","starts_at":"2026-01-03T09:00:00","ends_at":"2026-01-03T10:00:00Z"}""", "silence: \"starts_at\" must be an ISO-8601 time with a zone, such as 2026-01-02T14:30:00Z")]
    [InlineData("""{"id":"a","rule":1,"starts_at":"2026-01-03T09:00:00Z","ends_at":"2026-01-03T10:00:00Z"}""", "silence: \"rule\" must be a string or null")]
    [InlineData("""{"id":"a","starts_at":"2026-01-03T09:00:00Z","ends_at":"2026-01-03T10:00:00Z"}""", "silence: give at least one of rule, symbol, channel")]
    public void SilenceJson_TryParse_Invalid_GivesOneLineError(string json, string expected)
    {
        Assert.False(SilenceJson.TryParse(Encoding.UTF8.GetBytes(json), out var silence, out var error));

        Assert.Null(silence);
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error!);
    }
}
