using Breadboard.Core.Seams;

namespace Breadboard.Core.Tests;

public sealed class ServerListUrlTests
{
    [Fact]
    public void TryParse_ServersAndOptions_InOrder()
    {
        Assert.True(ServerListUrl.TryParse("kafka://a:9092, b:9093/?partitions=3&strict", "kafka://", "broker", out var servers, out var options, out var error), error);
        Assert.Equal(["a:9092", "b:9093"], servers);
        Assert.Equal([new("partitions", "3"), new("strict", "")], options);
    }

    [Theory]
    [InlineData("nats://h:1", "expected kafka://host:port[,host:port…]")]
    [InlineData("kafka://", "names no broker; expected kafka://host:port[,host:port…]")]
    [InlineData("kafka://host", "'host' is not host:port")]
    [InlineData("kafka://host:0", "'host:0' is not host:port")]
    [InlineData("kafka://host:70000", "'host:70000' is not host:port")]
    [InlineData("kafka://bob:PW@host:1", "credentials do not belong in the URL")]
    [InlineData("kafka://a:1,bob:PW@host:1", "credentials do not belong in the URL")]
    [InlineData("kafka://host:1#token=PW", "'host:1#token=***' is not host:port")]
    public void TryParse_Bad_SaysWhy(string url, string expected)
    {
        Assert.False(ServerListUrl.TryParse(url, "kafka://", "broker", out _, out _, out var error));
        Assert.Equal(expected, error);
    }
}
