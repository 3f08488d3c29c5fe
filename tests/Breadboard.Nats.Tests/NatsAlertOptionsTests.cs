namespace Breadboard.Nats.Tests;

public sealed class NatsAlertOptionsTests
{
    [Fact]
    public void TryParse_ServersAndLimits_AreRead()
    {
        Assert.True(NatsAlertOptions.TryParse("nats://10.0.0.1:4222,10.0.0.2:4222?max_age=3d&max_msgs=500&duplicate_window=5m&replicas=3&buffer=10", out var o, out var error), error);
        Assert.Equal("nats://10.0.0.1:4222,nats://10.0.0.2:4222", o!.Servers);
        Assert.Equal(TimeSpan.FromDays(3), o.MaxAge);
        Assert.Equal(500, o.MaxMessages);
        Assert.Equal(TimeSpan.FromMinutes(5), o.DuplicateWindow);
        Assert.Equal(3, o.Replicas);
        Assert.Equal(10, o.BufferCapacity);
    }

    [Theory]
    [InlineData("nats://", "names no server")]
    [InlineData("nats://host", "'host' is not host:port")]
    [InlineData("nats://user:secret@host:4222", "credentials do not belong in the URL")]
    [InlineData("nats://host:4222?max_age=forever", "bad option 'max_age=forever'")]
    [InlineData("nats://host:4222?max_age=1m&duplicate_window=2m", "duplicate_window must not be longer than max_age")]
    [InlineData("kafka://host:4222", "expected nats://")]
    public void TryParse_BadUrl_SaysWhatIsWrong(string url, string expected)
    {
        Assert.False(NatsAlertOptions.TryParse(url, out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("price_drop", "alerts.price_drop")]
    [InlineData("odd rule.name*", "alerts.odd_rule_name_")]
    public void SubjectOf_MakesTheRuleOneToken(string rule, string subject) => Assert.Equal(subject, NatsAlertOptions.SubjectOf(rule));
}
