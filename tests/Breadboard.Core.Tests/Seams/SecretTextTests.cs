using Breadboard.Core.Seams;
using CsCheck;

namespace Breadboard.Core.Tests;

public sealed class SecretTextTests
{
    [Theory]
    [InlineData("clickhouse://admin:PW@127.0.0.1:1/db", "clickhouse://admin:***@127.0.0.1:1/db")]
    [InlineData("nats://bob:PW@h:4222", "nats://bob:***@h:4222")]
    [InlineData("flink+http://u:PW@h", "flink+http://u:***@h")]
    [InlineData("nats://PW@h:4222", "nats://***@h:4222")]
    [InlineData("https://:PW@h/", "https://***@h/")]
    [InlineData("clickhouse://admin:P%40W@h:1/db", "clickhouse://admin:***@h:1/db")]
    [InlineData("clickhouse://admin:P@W@h:1/db", "clickhouse://admin:***@h:1/db")]
    [InlineData("clickhouse://admin:P/W?x#y@h:1/db", "clickhouse://admin:***@h:1/db")]
    [InlineData("clickhouse://u:PW@[::1]:8123/db", "clickhouse://u:***@[::1]:8123/db")]
    [InlineData("bob:PW@h:1", "bob:***@h:1")]
    public void Redact_UserInfo_KeepsTheUserOnly(string url, string expected)
    {
        Assert.Equal(expected, SecretText.Redact(url));
    }

    [Theory]
    [InlineData("password")]
    [InlineData("passwd")]
    [InlineData("pwd")]
    [InlineData("secret")]
    [InlineData("token")]
    [InlineData("key")]
    [InlineData("api_key")]
    [InlineData("apikey")]
    [InlineData("apiKey")]
    [InlineData("access_token")]
    [InlineData("auth")]
    [InlineData("credentials")]
    [InlineData("sig")]
    [InlineData("signature")]
    [InlineData("X-Amz-Signature")]
    [InlineData("PASSWORD")]
    [InlineData("pass%77ord")]
    public void Redact_SecretQueryParameter_HidesItsValue(string key)
    {
        Assert.Equal($"clickhouse://h:1/db?user=me&{key}=***&cluster=c", SecretText.Redact($"clickhouse://h:1/db?user=me&{key}=PW&cluster=c"));
        Assert.True(SecretText.IsSecretKey(key));
    }

    [Theory]
    [InlineData("user")]
    [InlineData("cluster")]
    [InlineData("secure")]
    [InlineData("retry_for")]
    [InlineData("partitions")]
    [InlineData("replication")]
    [InlineData("strict")]
    [InlineData("max_age")]
    [InlineData("max_msgs")]
    [InlineData("duplicate_window")]
    [InlineData("replicas")]
    [InlineData("buffer")]
    public void IsSecretKey_TheSeamsOwnOptions_AreShown(string key)
    {
        Assert.False(SecretText.IsSecretKey(key));
        Assert.Equal($"kafka://h:1?{key}=3", SecretText.Redact($"kafka://h:1?{key}=3"));
    }

    [Theory]
    [InlineData("https://h/x?token=P%26W", "https://h/x?token=***")]
    [InlineData("https://h/x?token=P&W&a=1", "https://h/x?token=***&a=1")]
    [InlineData("https://h/x?a=1;token=PW", "https://h/x?a=1;token=***")]
    [InlineData("https://h/x#access_token=PW&state=1", "https://h/x#access_token=***&state=1")]
    [InlineData("https://h/x?token=", "https://h/x?token=***")]
    public void Redact_EncodedOrOddValues_AreHiddenWhole(string url, string expected)
    {
        Assert.Equal(expected, SecretText.Redact(url));
    }

    [Theory]
    [InlineData("nats://a:1,b:2", "nats://a:1,b:2")]
    [InlineData("nats://bob:PW@a:1,b:2", "nats://bob:***@a:1,b:2")]
    [InlineData("nats://a:1,bob:PW@b:2", "nats://***@b:2")]
    [InlineData("http://a:1;http://u:PW@b:2;https://c?token=PW", "http://a:1;http://u:***@b:2;https://c?token=***")]
    [InlineData("http://u:PW@a:1 https://b", "http://u:***@a:1 https://b")]
    [InlineData("nats://u:PW@a:1,nats://v:PW@b:2", "nats://u:***@a:1,nats://v:***@b:2")]
    public void Redact_ListsOfUrls_RedactsEach(string value, string expected)
    {
        Assert.Equal(expected, SecretText.Redact(value));
    }

    [Theory]
    [InlineData("https://hooks.slack.com/services/T0001/B0001/PWPWPW", "https://hooks.slack.com/…")]
    [InlineData("https://HOOKS.slack.com:443/services/T0001/B0001/PWPWPW?x=1", "https://HOOKS.slack.com:443/…")]
    public void Redact_SlackWebhook_ShowsTheHostOnly(string url, string expected)
    {
        Assert.Equal(expected, SecretText.Redact(url));
    }

    [Theory]
    [InlineData("local")]
    [InlineData("memory://")]
    [InlineData("duckdb://./data/breadboard.duckdb")]
    [InlineData("http://[::1]:8000")]
    [InlineData("kafka://a:9092,b:9093?partitions=3&strict=true")]
    [InlineData("")]
    public void Redact_NothingSecret_IsUnchanged(string value)
    {
        Assert.Equal(value, SecretText.Redact(value));
    }

    [Theory]
    [InlineData("clickhouse://admin:PW@")]
    [InlineData("clickhouse://admin:PW@@")]
    [InlineData("http://u:PW@[::1")]
    [InlineData("flink+http://u:PW@h:port/%zz")]
    [InlineData("://u:PW@")]
    [InlineData("u:PW@")]
    [InlineData("clickhouse:admin:PW@h")]
    [InlineData("nats://u:PW@h:1?token=PW#x")]
    [InlineData("%PW@h")]
    public void Redact_UrlsThatDoNotParse_StillHideTheSecret(string value)
    {
        Assert.DoesNotContain("PW", SecretText.Redact(value), StringComparison.Ordinal);
    }

    [Fact]
    public void Redact_IsIdempotent()
    {
        const string Url = "clickhouse://admin:PW@h:1/db?password=PW";
        Assert.Equal(SecretText.Redact(Url), SecretText.Redact(SecretText.Redact(Url)));
    }

    [Fact]
    public void Redact_AnyPasswordInUserInfoOrSecretParameter_NeverAppears()
    {
        // Secrets of printable ASCII, characters that break URL syntax (@ / ? # : , ;) included.
        var secrets = Gen.String[Gen.Char['!', '~'], 6, 20];
        Gen.Select(secrets, Gen.OneOf("clickhouse", "nats", "flink+https", "http"), Gen.OneOf("password", "token", "api_key", "sig"))
            .Sample((secret, scheme, key) =>
            {
                var marked = "Z" + secret + "Z";
                Assert.DoesNotContain(marked, SecretText.Redact($"{scheme}://user:{marked}@host:1/db"), StringComparison.Ordinal);
                Assert.DoesNotContain(marked, SecretText.Redact($"{scheme}://host:1/db?a=1&{key}={Uri.EscapeDataString(marked)}&b=2"), StringComparison.Ordinal);
            });
    }

    [Theory]
    [InlineData("error: --store (env BREADBOARD_STORE) = 'clickhouse://admin:PW@h:1/db': credentials do not belong in the URL", "error: --store (env BREADBOARD_STORE) = 'clickhouse://admin:***@h:1/db': credentials do not belong in the URL")]
    [InlineData("bad option 'password=PW'; allowed: user=NAME", "bad option 'password=***'; allowed: user=NAME")]
    [InlineData("NATS nats://a:1 says \"token=PW\"", "NATS nats://a:1 says \"token=***\"")]
    [InlineData("'bob:PW@a:1' is not host:port", "'bob:***@a:1' is not host:port")]
    [InlineData("refused recipient ops@example.com: 550 no such user", "refused recipient ops@example.com: 550 no such user")]
    [InlineData("ClickHouse at http://[::1]:8123/ did not answer", "ClickHouse at http://[::1]:8123/ did not answer")]
    public void RedactText_FreeText_RedactsEveryUrlAndSecretPair(string text, string expected)
    {
        Assert.Equal(expected, SecretText.RedactText(text));
    }

    [Fact]
    public void HostOnly_KeepsSchemeHostAndPort()
    {
        Assert.Equal("https://hooks.slack.com/…", SecretText.HostOnly(new Uri("https://hooks.slack.com/services/T1/B1/PW")));
        Assert.Equal("http://127.0.0.1:9000/…", SecretText.HostOnly(new Uri("http://u:PW@127.0.0.1:9000/hook?token=PW")));
        Assert.Equal("http://[::1]:9000/…", SecretText.HostOnly(new Uri("http://[::1]:9000/hook")));
    }
}
