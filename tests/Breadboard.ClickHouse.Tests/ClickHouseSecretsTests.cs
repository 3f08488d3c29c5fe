using System.Net;
using Breadboard.TestKit;

namespace Breadboard.ClickHouse.Tests;

/// <summary>Store URLs and server answers reach messages without secrets or escape sequences; no server needed.</summary>
public sealed class ClickHouseSecretsTests
{
    [Theory]
    [InlineData("clickhouse://ch:8123/db?password=PW", "bad option 'password=***'")]
    [InlineData("clickhouse://ch:8123/db?user=me&access_token=PW", "bad option 'access_token=***'")]
    [InlineData("clickhouse://admin:PW@ch:8123/db", "credentials do not belong in the URL")]
    public void TryParse_WithASecret_RefusesWithoutQuotingIt(string url, string expected)
    {
        Assert.False(ClickHouseUrl.TryParse(url, out _, out var error));

        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("PW", error, StringComparison.Ordinal);
    }

    [Fact]
    public void FromResponse_WithEscapeSequencesInTheBody_ShowsTheTextWithoutThem()
    {
        var error = ClickHouseException.FromResponse(HttpStatusCode.BadGateway, null, "\u001b[31m<html>bad \u202Egateway\u001b]0;x\u0007</html>", "SELECT '\u001b[2J'");

        Assert.Equal("ClickHouse error 0: <html>bad gateway</html> (query: SELECT '')", error.Message);
    }

    [Fact]
    public async Task Execute_AtAUrlWithUserInfo_FailsWithoutNamingThePassword()
    {
        var port = ServerProcess.FreePort();
        using var client = new ClickHouseHttpClient(new Uri($"http://admin:PW@127.0.0.1:{port}/"), "db", null, null, opts: ClickHouseClientOpts.Default with { MaxRetries = 0 });

        var e = await Assert.ThrowsAsync<ClickHouseUnavailableException>(() => client.ExecuteAsync("SELECT 1", TestContext.Current.CancellationToken));

        Assert.Contains($"ClickHouse at http://admin:***@127.0.0.1:{port}/ did not answer", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("PW", e.Message, StringComparison.Ordinal);
    }
}
