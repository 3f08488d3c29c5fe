using Breadboard.Notify.Policy;
using static Breadboard.Notify.Tests.Policy.PolicyKit;

namespace Breadboard.Notify.Tests.Policy;

public class NoisePolicyTests
{
    [Fact]
    public void Crash_OnFiveOverlappingWindows_GivesOneNotificationThenAReminderAfterTheInterval()
    {
        var clock = Clock();
        var policy = new NoisePolicy("email", NoisePolicyOptions.Default, clock);

        // A hopping 5m window sliding by 1m: one crash fires on five windows, one minute apart.
        var decisions = Enumerable.Range(0, 5).Select(i => policy.Offer(Fire("price_drop", "BTC-USD", T0 + (i * Minute)), NoSilences)).ToList();

        Assert.Equal(new PolicyDecision(PolicyOutcome.Accepted), decisions[0]);
        Assert.All(decisions.Skip(1), d => Assert.Equal(PolicyOutcome.Repeat, d.Outcome));
        Assert.Empty(policy.TakeDue());
        clock.Advance(TimeSpan.FromSeconds(10));
        var first = Assert.Single(policy.TakeDue());
        Assert.Equal("email", first.Channel);
        Assert.Equal(T0, Assert.Single(first.Alerts).Ts);
        Assert.False(first.Reminder);

        // The interval is event time: the wall clock barely moves while the alerts cover an hour.
        Assert.Equal(PolicyOutcome.Repeat, policy.Offer(Fire("price_drop", "BTC-USD", T0 + (59 * Minute)), NoSilences).Outcome);
        var reminder = policy.Offer(Fire("price_drop", "BTC-USD", T0 + (60 * Minute)), NoSilences);
        Assert.Equal(new PolicyDecision(PolicyOutcome.Accepted, Reminder: true), reminder);
        clock.Advance(TimeSpan.FromSeconds(10));
        var second = Assert.Single(policy.TakeDue());
        Assert.True(second.Reminder);
        Assert.Equal(T0 + (60 * Minute), Assert.Single(second.Alerts).Ts);
    }

    [Fact]
    public void Offer_TwoSymbolsOfOneRuleWithinGroupWait_GivesOneNotificationWithBoth()
    {
        var clock = Clock();
        var policy = new NoisePolicy("slack", NoisePolicyOptions.Default, clock);

        policy.Offer(Fire("price_drop", "BTC-USD", T0), NoSilences);
        clock.Advance(TimeSpan.FromSeconds(6));
        policy.Offer(Fire("price_drop", "ETH-USD", T0), NoSilences);

        // The wait runs from the first alert's arrival, not the last one's.
        Assert.Equal(Now0.AddSeconds(10), policy.NextDue);
        clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Empty(policy.TakeDue());
        clock.Advance(TimeSpan.FromSeconds(1));
        var notification = Assert.Single(policy.TakeDue());
        Assert.Equal(["BTC-USD", "ETH-USD"], notification.Alerts.Select(a => a.Symbol));
        Assert.Null(policy.NextDue);
    }

    [Fact]
    public void Offer_DifferentRules_GiveSeparateNotifications()
    {
        var clock = Clock();
        var policy = new NoisePolicy("slack", NoisePolicyOptions.Default, clock);

        policy.Offer(Fire("price_drop", "BTC-USD", T0), NoSilences);
        policy.Offer(Fire("volume_surge", "BTC-USD", T0), NoSilences);
        clock.Advance(TimeSpan.FromSeconds(10));

        var notifications = policy.TakeDue();
        Assert.Equal(["price_drop", "volume_surge"], notifications.Select(n => Assert.Single(n.Alerts).Rule));
    }

    [Fact]
    public void Offer_WithGroupWaitZero_MakesEachAlertItsOwnNotificationDueAtOnce()
    {
        var policy = new NoisePolicy("webhook", NoisePolicyOptions.Default with { GroupWait = TimeSpan.Zero }, Clock());

        policy.Offer(Fire("price_drop", "BTC-USD", T0), NoSilences);
        policy.Offer(Fire("price_drop", "ETH-USD", T0), NoSilences);

        Assert.Equal(Now0, policy.NextDue);
        Assert.Equal(["BTC-USD", "ETH-USD"], policy.TakeDue().Select(n => Assert.Single(n.Alerts).Symbol));
    }

    [Fact]
    public void Offer_GroupReachingMaxGroupSize_IsDueAtOnceAndTheNextAlertStartsANewGroup()
    {
        var clock = Clock();
        var policy = new NoisePolicy("email", NoisePolicyOptions.Default with { MaxGroupSize = 3 }, clock);

        foreach (var symbol in new[] { "A", "B", "C", "D" })
        {
            policy.Offer(Fire("price_drop", symbol, T0), NoSilences);
        }

        var full = Assert.Single(policy.TakeDue());
        Assert.Equal(["A", "B", "C"], full.Alerts.Select(a => a.Symbol));
        Assert.Equal(Now0.AddSeconds(10), policy.NextDue);
        var rest = Assert.Single(policy.TakeAll());
        Assert.Equal("D", Assert.Single(rest.Alerts).Symbol);
        Assert.Empty(policy.TakeAll());
    }

    [Fact]
    public void Offer_SameAlertIdAgain_IsDuplicateEvenWithoutRepeatInterval()
    {
        var policy = new NoisePolicy("email", NoisePolicyOptions.Default with { RepeatInterval = TimeSpan.Zero }, Clock());
        var alert = Fire("price_drop", "BTC-USD", T0);

        Assert.True(policy.Offer(alert, NoSilences).IsAccepted);
        Assert.Equal(PolicyOutcome.Duplicate, policy.Offer(alert, NoSilences).Outcome);

        // With no interval every other window still goes out.
        Assert.True(policy.Offer(Fire("price_drop", "BTC-USD", T0 + Minute), NoSilences).IsAccepted);
        Assert.Equal(2, policy.TakeAll().Sum(n => n.Alerts.Count));
    }

    [Fact]
    public void Offer_WithoutRepeatInterval_AcceptsAnAlertOlderThanOneAlreadyAccepted()
    {
        // A notifier killed while holding an alert gets it back after the ack wait, behind newer alerts of the same
        // rule and symbol that its successor already notified: with no interval it is still news.
        var policy = new NoisePolicy("webhook", NoisePolicyOptions.Default with { RepeatInterval = TimeSpan.Zero }, Clock());

        Assert.True(policy.Offer(Fire("price_drop", "BTC-USD", T0 + Minute), NoSilences).IsAccepted);
        Assert.True(policy.Offer(Fire("price_drop", "BTC-USD", T0), NoSilences).IsAccepted);
        Assert.Equal(2, policy.TakeAll().Sum(n => n.Alerts.Count));
    }

    [Fact]
    public void Offer_MatchingActiveSilence_IsSilencedWithItsIdAndLeavesRepeatStateAlone()
    {
        var clock = Clock();
        var policy = new NoisePolicy("email", NoisePolicyOptions.Default, clock);
        var silence = Mute(symbol: "BTC-*", ends: Now0.AddMinutes(30));
        var other = Mute(rule: "volume_surge");

        var decision = policy.Offer(Fire("price_drop", "BTC-USD", T0), [other, silence]);

        Assert.Equal(new PolicyDecision(PolicyOutcome.Silenced, silence.Id), decision);
        Assert.Empty(policy.LastAccepted);
        Assert.Empty(policy.TakeAll());

        // Once the silence ends, the next window is news, not a repeat and not a reminder.
        clock.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(new PolicyDecision(PolicyOutcome.Accepted), policy.Offer(Fire("price_drop", "BTC-USD", T0 + Minute), [other, silence]));
    }

    [Fact]
    public void Offer_SilenceForAnotherChannel_DoesNotSilence()
    {
        var policy = new NoisePolicy("email", NoisePolicyOptions.Default, Clock());

        Assert.True(policy.Offer(Fire("price_drop", "BTC-USD", T0), [Mute(channel: "slack")]).IsAccepted);
        Assert.Equal(PolicyOutcome.Silenced, policy.Offer(Fire("price_drop", "ETH-USD", T0), [Mute(channel: "email")]).Outcome);
    }

    [Fact]
    public void Offer_OutOfOrderAlert_IsARepeatAndDoesNotMoveTheRememberedTimeBack()
    {
        var policy = new NoisePolicy("email", NoisePolicyOptions.Default, Clock());

        Assert.True(policy.Offer(Fire("price_drop", "BTC-USD", T0 + (10 * Minute)), NoSilences).IsAccepted);
        Assert.Equal(PolicyOutcome.Repeat, policy.Offer(Fire("price_drop", "BTC-USD", T0), NoSilences).Outcome);
        policy.Remember("price_drop", "BTC-USD", T0);

        Assert.Equal(T0 + (10 * Minute), policy.LastAccepted["price_drop|BTC-USD"]);
        Assert.Equal(PolicyOutcome.Repeat, policy.Offer(Fire("price_drop", "BTC-USD", T0 + (69 * Minute)), NoSilences).Outcome);
        Assert.True(policy.Offer(Fire("price_drop", "BTC-USD", T0 + (70 * Minute)), NoSilences).IsAccepted);
    }

    [Fact]
    public void LastAccepted_RememberedByANewPolicy_KeepsSuppressingAcrossARestart()
    {
        var before = new NoisePolicy("email", NoisePolicyOptions.Default, Clock());
        before.Offer(Fire("price_drop", "BTC-USD", T0), NoSilences);
        before.Offer(Fire("volume_surge", "ETH-USD", T0 + Minute), NoSilences);
        var saved = before.LastAccepted;

        var after = new NoisePolicy("email", NoisePolicyOptions.Default, Clock());
        foreach (var (key, ts) in saved)
        {
            Assert.True(NoisePolicy.TryParseStateKey(key, out var rule, out var symbol));
            after.Remember(rule, symbol, ts);
        }

        Assert.Equal(saved, after.LastAccepted);
        Assert.Equal(PolicyOutcome.Repeat, after.Offer(Fire("price_drop", "BTC-USD", T0 + (30 * Minute)), NoSilences).Outcome);
        Assert.Equal(new PolicyDecision(PolicyOutcome.Accepted, Reminder: true), after.Offer(Fire("volume_surge", "ETH-USD", T0 + (61 * Minute)), NoSilences));
    }

    [Theory]
    [InlineData("price_drop|BTC-USD", true, "price_drop", "BTC-USD")]
    [InlineData("price_drop|A|B", true, "price_drop", "A|B")]
    [InlineData("|BTC-USD", false, "", "")]
    [InlineData("price_drop|", false, "price_drop", "")]
    [InlineData("price_drop", false, "", "")]
    public void TryParseStateKey_SplitsAtTheFirstBar(string key, bool ok, string rule, string symbol)
    {
        Assert.Equal(ok, NoisePolicy.TryParseStateKey(key, out var r, out var s));
        Assert.Equal((rule, symbol), (r, s));
        if (ok)
        {
            Assert.Equal(key, NoisePolicy.StateKey(r, s));
        }
    }

    [Fact]
    public void LastAccepted_ForgetsWhatFellTwoIntervalsBehindTheNewestAlert()
    {
        var policy = new NoisePolicy("email", NoisePolicyOptions.Default, Clock());
        for (var i = 0; i < 1000; i++)
        {
            policy.Offer(Fire("price_drop", $"SYM{i}", T0 + (i * 1000)), NoSilences);
        }

        Assert.Equal(1000, policy.LastAccepted.Count);
        policy.Offer(Fire("price_drop", "LATER", T0 + (2 * Hour) + 1000), NoSilences);

        // SYM0 (at T0) is forgotten, SYM1 (T0 + 1 s) is exactly at the horizon and kept.
        Assert.Equal(1000, policy.LastAccepted.Count);
        Assert.DoesNotContain("price_drop|SYM0", policy.LastAccepted.Keys);
        policy.Offer(Fire("price_drop", "LATEST", T0 + (5 * Hour)), NoSilences);
        Assert.Equal(["price_drop|LATEST"], policy.LastAccepted.Keys);
    }

    [Fact]
    public void Remembers_ExactlyTheEventTimesItStillHoldsState()
    {
        var policy = new NoisePolicy("email", NoisePolicyOptions.Default, Clock());
        Assert.True(policy.Remembers(long.MinValue));

        policy.Offer(Fire("price_drop", "SYM0", T0), NoSilences);
        policy.Offer(Fire("price_drop", "SYM1", T0 + 1000), NoSilences);
        policy.Offer(Fire("price_drop", "LATER", T0 + (2 * Hour) + 1000), NoSilences);

        Assert.False(policy.Remembers(T0));
        Assert.True(policy.Remembers(T0 + 1000));
        Assert.Equal(new PolicyDecision(PolicyOutcome.Duplicate), policy.Offer(Fire("price_drop", "SYM1", T0 + 1000), NoSilences));
        Assert.Equal(PolicyOutcome.Accepted, policy.Offer(Fire("price_drop", "SYM0", T0), NoSilences).Outcome);
    }

    [Fact]
    public void Offer_AfterAQuietSpellOfTwoIntervals_IsNewsNotAReminder()
    {
        var policy = new NoisePolicy("email", NoisePolicyOptions.Default, Clock());

        policy.Offer(Fire("price_drop", "BTC-USD", T0), NoSilences);
        Assert.Equal(new PolicyDecision(PolicyOutcome.Accepted, Reminder: true), policy.Offer(Fire("price_drop", "BTC-USD", T0 + (2 * Hour)), NoSilences));
        Assert.Equal(new PolicyDecision(PolicyOutcome.Accepted), policy.Offer(Fire("price_drop", "BTC-USD", T0 + (4 * Hour) + 1), NoSilences));
    }

    [Fact]
    public void TakeDue_GroupOfReminderAndFreshAlert_IsNotAReminder()
    {
        var policy = new NoisePolicy("email", NoisePolicyOptions.Default, Clock());
        policy.Offer(Fire("price_drop", "BTC-USD", T0), NoSilences);
        Assert.Single(policy.TakeAll());

        Assert.True(policy.Offer(Fire("price_drop", "BTC-USD", T0 + Hour), NoSilences).Reminder);
        Assert.False(policy.Offer(Fire("price_drop", "ETH-USD", T0 + Hour), NoSilences).Reminder);

        Assert.False(Assert.Single(policy.TakeAll()).Reminder);
    }

    [Fact]
    public void Constructor_WithBadOptions_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new NoisePolicy("email", NoisePolicyOptions.Default with { MaxGroupSize = 0 }, Clock()));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NoisePolicy("email", NoisePolicyOptions.Default with { RepeatInterval = TimeSpan.FromSeconds(-1) }, Clock()));
        Assert.Throws<ArgumentOutOfRangeException>(() => new NoisePolicy("email", NoisePolicyOptions.Default with { GroupWait = TimeSpan.FromSeconds(-1) }, Clock()));
    }
}
