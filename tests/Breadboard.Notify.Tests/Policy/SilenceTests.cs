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

    [Theory]
    [InlineData("bogus", 2, "", "silence: channel \"bogus\" is not a notification channel: one of email, slack, webhook")]
    [InlineData("email", 24 * 367, "", "silence: ends_at is 367 days after starts_at; a silence lasts at most 366d")]
    [InlineData("email", 2, "long", "silence: comment is 1001 characters long; at most 1000")]
    public void TryCreate_UnknownChannelTooLongOrTooLarge_GivesOneLineError(string channel, int hours, string comment, string expected)
    {
        Assert.False(Silence.TryCreate(null, null, channel, Now0, Now0.AddHours(hours), "ops", comment == "long" ? new string('c', 1_001) : comment, out _, out var error));

        Assert.Equal(expected, error);
    }

    [Fact]
    public void Check_ManyBadFields_NamesEachOfThem()
    {
        var problems = Silence.Check(new string('r', 201), "B*C", "sms", Now0, Now0, new string('o', 201), new string('c', 1_001));

        Assert.Equal(["channel", "comment", "created_by", "ends_at", "rule", "symbol"], problems.Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("2h", true, "")]
    [InlineData("366d", true, "")]
    [InlineData("367d", false, "'367d' is longer than a silence may last: at most 366d")]
    [InlineData("9999999d", false, "'9999999d' is longer than a silence may last: at most 366d")]
    [InlineData("0m", false, "'0m' is not a duration like 30m, 2h or 1d (at most 366d)")]
    [InlineData("soon", false, "'soon' is not a duration like 30m, 2h or 1d (at most 366d)")]
    public void TryEnd_ChecksTheDuration(string duration, bool ok, string expected)
    {
        Assert.Equal(ok, Silence.TryEnd(Now0, duration, out var ends, out var problem));

        Assert.Equal(ok ? null : expected, problem);
        if (ok)
        {
            Assert.True(ends > Now0);
        }
    }

    [Fact]
    public void TryEnd_PastTheLastRepresentableTime_IsAProblem()
    {
        Assert.False(Silence.TryEnd(new DateTimeOffset(9999, 12, 31, 0, 0, 0, TimeSpan.Zero), "2d", out _, out var problem));

        Assert.Equal("'2d' from 9999-12-31T00:00:00.000Z ends after 9999-12-31", problem);
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
