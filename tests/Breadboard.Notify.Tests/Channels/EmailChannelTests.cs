using Breadboard.Core.Model;
using Breadboard.Notify.Channels;

using Breadboard.TestKit;

namespace Breadboard.Notify.Tests.Channels;

[Slow]
public class EmailChannelTests
{
    private static EmailOptions Options(int port, SmtpSecurity security = SmtpSecurity.None) => new()
    {
        Host = "127.0.0.1",
        Port = port,
        Security = security,
        From = "Breadboard <alerts@breadboard.test>",
        To = ["ops@example.com", "oncall@example.com"],
        Timeout = TimeSpan.FromSeconds(10),
    };

    [Fact]
    public async Task Send_OneAlert_DeliversSubjectRecipientsBodiesAndIdHeader()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await SmtpTestServer.StartAsync(cancellationToken: ct);
        await using var channel = new EmailChannel(Options(server.Port));
        var notification = TestAlerts.One("email", TestAlerts.Drop());

        await channel.SendAsync(notification, ct);

        var received = Assert.Single(server.Messages);
        Assert.Equal(["ops@example.com", "oncall@example.com"], received.Recipients);
        var message = received.Message;
        Assert.Equal("[Breadboard] price_drop BTC-USD \u22125.2% (5m)", message.Subject);
        Assert.Equal("alerts@breadboard.test", Assert.Single(message.From.Mailboxes).Address);
        Assert.Equal(notification.Id, message.Headers[EmailChannel.IdHeader]);
        Assert.Equal($"{notification.Id}@breadboard.test", message.MessageId);
        Assert.Contains("BTC-USD  price_drop \u22125.2% (threshold \u22125.0%)", message.TextBody, StringComparison.Ordinal);
        Assert.Contains(EventTime.ToIso(TestAlerts.End), message.TextBody, StringComparison.Ordinal);
        Assert.Contains(notification.Id, message.TextBody, StringComparison.Ordinal);
        Assert.Contains("<td>BTC-USD</td>", message.HtmlBody, StringComparison.Ordinal);
        Assert.Contains(EventTime.ToIso(TestAlerts.End), message.HtmlBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_GroupReminder_SubjectCountsSymbolsAndBodyListsEach()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await SmtpTestServer.StartAsync(cancellationToken: ct);
        await using var channel = new EmailChannel(Options(server.Port));

        await channel.SendAsync(TestAlerts.Drops("email", 3, reminder: true), ct);

        var message = Assert.Single(server.Messages).Message;
        Assert.Equal("Reminder: [Breadboard] price_drop on 3 symbols", message.Subject);
        Assert.Contains("still firing", message.TextBody, StringComparison.Ordinal);
        foreach (var symbol in new[] { "SYM0-USD", "SYM1-USD", "SYM2-USD" })
        {
            Assert.Contains(symbol, message.TextBody, StringComparison.Ordinal);
            Assert.Contains($"<td>{symbol}</td>", message.HtmlBody, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Send_ExpressionRuleAlert_SubjectAndBodiesSayTheConditionAndOperands()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await SmtpTestServer.StartAsync(cancellationToken: ct);
        await using var channel = new EmailChannel(Options(server.Port));

        await channel.SendAsync(TestAlerts.Expression("email", TestAlerts.Cross(), TestAlerts.Cross("ETH-USD", fast: double.NaN)), ct);

        var message = Assert.Single(server.Messages).Message;
        Assert.Equal("[Breadboard] golden_cross on 2 symbols", message.Subject);
        Assert.Contains("Rule golden_cross: crosses_above(sma_fast, sma_slow)\n", message.TextBody, StringComparison.Ordinal);
        Assert.Contains("BTC-USD  golden_cross: crosses_above(sma_fast, sma_slow): sma_fast 101.25 vs 100.9\n", message.TextBody, StringComparison.Ordinal);
        Assert.Contains("ETH-USD  golden_cross: crosses_above(sma_fast, sma_slow): sma_fast undefined vs 100.9\n", message.TextBody, StringComparison.Ordinal);
        Assert.Contains("<code>golden_cross: crosses_above(sma_fast, sma_slow)</code>", message.HtmlBody, StringComparison.Ordinal);
        Assert.Contains("<td align=\"right\">sma_fast 101.25</td><td align=\"right\">100.9</td>", message.HtmlBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_VolumeSurge_SaysTheMultipleOfMeanVolume()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await SmtpTestServer.StartAsync(cancellationToken: ct);
        await using var channel = new EmailChannel(Options(server.Port));

        await channel.SendAsync(TestAlerts.One("email", TestAlerts.Surge()), ct);

        Assert.Equal("[Breadboard] volume_surge ETH-USD 6.3\u00d7 mean volume (1m)", Assert.Single(server.Messages).Message.Subject);
    }

    [Fact]
    public async Task Send_WithUser_LogsInWithUserAndPassword()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await SmtpTestServer.StartAsync(login: ("alice", "s3cret"), cancellationToken: ct);
        await using var channel = new EmailChannel(Options(server.Port) with { User = "alice", Password = "s3cret" });

        await channel.SendAsync(TestAlerts.One("email", TestAlerts.Drop()), ct);

        Assert.Equal(("alice", "s3cret"), Assert.Single(server.Logins));
        Assert.Single(server.Messages);
    }

    [Fact]
    public async Task Send_WithWrongPassword_ThrowsNamingTheUserButNotThePassword()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await SmtpTestServer.StartAsync(login: ("alice", "s3cret"), cancellationToken: ct);
        await using var channel = new EmailChannel(Options(server.Port) with { User = "alice", Password = "wrong-pw" });

        var e = await Assert.ThrowsAsync<NotificationException>(() => channel.SendAsync(TestAlerts.One("email", TestAlerts.Drop()), ct));

        Assert.StartsWith($"email: smtp 127.0.0.1:{server.Port} refused login as alice", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-pw", e.Message, StringComparison.Ordinal);
        Assert.Empty(server.Messages);
    }

    [Fact]
    public async Task Send_WithoutLoginToServerRequiringIt_Throws()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await SmtpTestServer.StartAsync(login: ("alice", "s3cret"), cancellationToken: ct);
        await using var channel = new EmailChannel(Options(server.Port));

        var e = await Assert.ThrowsAsync<NotificationException>(() => channel.SendAsync(TestAlerts.One("email", TestAlerts.Drop()), ct));

        Assert.StartsWith($"email: smtp 127.0.0.1:{server.Port} requires a login", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_WhenServerRefusesRecipient_ThrowsOneReadableLine()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await SmtpTestServer.StartAsync(refuse: "oncall@example.com", cancellationToken: ct);
        await using var channel = new EmailChannel(Options(server.Port));

        var e = await Assert.ThrowsAsync<NotificationException>(() => channel.SendAsync(TestAlerts.One("email", TestAlerts.Drop()), ct));

        Assert.StartsWith($"email: smtp 127.0.0.1:{server.Port} refused recipient oncall@example.com: 550 ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Empty(server.Messages);
    }

    [Fact]
    public async Task Send_ToClosedPort_ThrowsUnreachable()
    {
        var port = ServerProcess.FreePort();
        await using var channel = new EmailChannel(Options(port));

        var e = await Assert.ThrowsAsync<NotificationException>(
            () => channel.SendAsync(TestAlerts.One("email", TestAlerts.Drop()), TestContext.Current.CancellationToken));

        Assert.StartsWith($"email: smtp 127.0.0.1:{port} unreachable: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_WithStartTls_UpgradesThenDelivers()
    {
        var ct = TestContext.Current.CancellationToken;
        using var certificate = SmtpTestServer.SelfSigned();
        await using var server = await SmtpTestServer.StartAsync(certificate: certificate, cancellationToken: ct);
        await using var channel = new EmailChannel(Options(server.Port, SmtpSecurity.StartTls) with
        {
            // Pinned: the test's own certificate passes, any other would not.
            ServerCertificateValidation = (_, presented, _, _) => presented?.GetCertHashString() == certificate.GetCertHashString(),
        });

        await channel.SendAsync(TestAlerts.One("email", TestAlerts.Drop()), ct);

        Assert.True(Assert.Single(server.Messages).Secure);
    }

    [Fact]
    public async Task Send_WithStartTlsAndUntrustedCertificate_Throws()
    {
        var ct = TestContext.Current.CancellationToken;
        using var certificate = SmtpTestServer.SelfSigned();
        await using var server = await SmtpTestServer.StartAsync(certificate: certificate, cancellationToken: ct);
        await using var channel = new EmailChannel(Options(server.Port, SmtpSecurity.StartTls));

        var e = await Assert.ThrowsAsync<NotificationException>(() => channel.SendAsync(TestAlerts.One("email", TestAlerts.Drop()), ct));

        Assert.Contains("TLS handshake failed", e.Message, StringComparison.Ordinal);
        Assert.Empty(server.Messages);
    }

    [Fact]
    public async Task Send_WithStartTlsToServerWithoutIt_RefusesToSendInClear()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await SmtpTestServer.StartAsync(cancellationToken: ct);
        await using var channel = new EmailChannel(Options(server.Port, SmtpSecurity.StartTls));

        var e = await Assert.ThrowsAsync<NotificationException>(() => channel.SendAsync(TestAlerts.One("email", TestAlerts.Drop()), ct));

        Assert.Contains("STARTTLS", e.Message, StringComparison.Ordinal);
        Assert.Empty(server.Messages);
    }

    [Fact]
    public async Task Send_WhenCancelled_ThrowsOperationCanceled()
    {
        await using var server = await SmtpTestServer.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        await using var channel = new EmailChannel(Options(server.Port));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => channel.SendAsync(TestAlerts.One("email", TestAlerts.Drop()), new CancellationToken(canceled: true)));
    }

    [Fact]
    public void Options_ToString_HidesThePassword()
    {
        var text = (Options(25) with { User = "alice", Password = "s3cret" }).ToString();

        Assert.Contains("alice", text, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", text, StringComparison.Ordinal);
    }
}
