using Breadboard.Flink.Gateway;

namespace Breadboard.Flink.Tests.Gateway;

public class FlinkEngineUrlTests
{
    [Theory]
    [InlineData("flink+http://gateway:8083", "http://gateway:8083/")]
    [InlineData("flink+http://gateway", "http://gateway:8083/")]
    [InlineData("flink+https://gateway", "https://gateway:8083/")]
    [InlineData("flink+https://gateway:443/sql/", "https://gateway/sql/")]
    [InlineData("FLINK+HTTP://127.0.0.1:18083", "http://127.0.0.1:18083/")]
    [InlineData("flink+http://[::1]:9000", "http://[::1]:9000/")]
    public void Parse_FlinkUrl_GivesTheGatewayBaseAddress(string engine, string expected) =>
        Assert.Equal(new Uri(expected), FlinkEngineUrl.Parse(engine));

    [Theory]
    [InlineData("local")]
    [InlineData("http://gateway:8083")]
    [InlineData("flink+ftp://gateway")]
    [InlineData("flink+http://")]
    [InlineData("flink+http://gateway:8083/?x=1")]
    public void Parse_AnythingElse_IsAOneLineArgumentException(string engine)
    {
        var e = Assert.Throws<ArgumentException>(() => FlinkEngineUrl.Parse(engine));

        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains(engine, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("flink+http://u:PW@gateway:8083", "'flink+http://u:***@gateway:8083': the gateway address takes no user")]
    [InlineData("flink+https://PW@gateway", "'flink+https://***@gateway': the gateway address takes no user")]
    [InlineData("flink+http://gateway/?token=PW", "'flink+http://gateway/?token=***': the gateway address takes no user, query")]
    [InlineData("flink+ftp://u:PW@gateway", "'flink+ftp://u:***@gateway' is not a Flink SQL Gateway")]
    [InlineData("flink+http://u:PW@", "'flink+http://u:***@': not a URL with a host")]
    public void Parse_WithCredentials_RefusesWithoutQuotingThem(string engine, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => FlinkEngineUrl.Parse(engine));

        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("PW", e.Message, StringComparison.Ordinal);
    }
}
