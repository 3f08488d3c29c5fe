using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Breadboard.Notify.Channels;
using Breadboard.TestKit;

namespace Breadboard.Notify.Tests.Channels;

/// <summary><see cref="ChannelCheck"/> (what <c>doctor</c> runs) against real servers: it reaches them and sends nothing.</summary>
[Slow]
public class ChannelCheckTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static EmailOptions Options(int port, SmtpSecurity security = SmtpSecurity.None) => new()
    {
        Host = "127.0.0.1",
        Port = port,
        Security = security,
        From = "alerts@breadboard.test",
        To = ["ops@example.com"],
    };

    [Fact]
    public async Task Smtp_PlainServer_AnswersEhlo_NoLoginAndNoMail()
    {
        await using var server = await SmtpTestServer.StartAsync(cancellationToken: Ct);

        var found = await ChannelCheck.SmtpAsync(Options(server.Port), Timeout, Ct);

        Assert.StartsWith("answered EHLO, no TLS (security none)", found, StringComparison.Ordinal);
        Assert.Empty(server.Messages);
        Assert.Empty(server.Logins);
    }

    [Fact]
    public async Task Smtp_ServerRequiringLogin_ListsItsAuthMechanisms_WithoutLoggingIn()
    {
        await using var server = await SmtpTestServer.StartAsync(login: ("alice", "s3cret"), cancellationToken: Ct);

        var found = await ChannelCheck.SmtpAsync(Options(server.Port) with { User = "alice", Password = "s3cret" }, Timeout, Ct);

        Assert.Matches("^answered EHLO, no TLS \\(security none\\), offers AUTH .*PLAIN", found);
        Assert.Empty(server.Logins);
        Assert.Empty(server.Messages);
    }

    [Fact]
    public async Task Smtp_UserSetButServerOffersNoAuth_Fails()
    {
        await using var server = await SmtpTestServer.StartAsync(cancellationToken: Ct);

        var e = await Assert.ThrowsAsync<NotificationException>(() =>
            ChannelCheck.SmtpAsync(Options(server.Port) with { User = "alice", Password = "s3cret" }, Timeout, Ct));

        Assert.Equal($"email: smtp 127.0.0.1:{server.Port} offers no AUTH, but BREADBOARD_SMTP_USER is set", e.Message);
    }

    [Fact]
    public async Task Smtp_StartTlsWithPinnedCertificate_ReportsTheUpgrade()
    {
        using var certificate = SmtpTestServer.SelfSigned();
        await using var server = await SmtpTestServer.StartAsync(certificate: certificate, cancellationToken: Ct);
        var options = Options(server.Port, SmtpSecurity.StartTls) with
        {
            ServerCertificateValidation = (_, presented, _, _) => presented?.GetCertHashString() == certificate.GetCertHashString(),
        };

        var found = await ChannelCheck.SmtpAsync(options, Timeout, Ct);

        Assert.StartsWith("answered EHLO, STARTTLS (Tls", found, StringComparison.Ordinal);
        Assert.Empty(server.Messages);
    }

    [Fact]
    public async Task Smtp_PortClosed_FailsAsUnreachable()
    {
        var port = ServerProcess.FreePort();

        var e = await Assert.ThrowsAsync<NotificationException>(() => ChannelCheck.SmtpAsync(Options(port), Timeout, Ct));

        Assert.StartsWith($"email: smtp 127.0.0.1:{port} unreachable: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HttpEndpoint_Listening_ConnectsAndSendsNothing()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var accepted = listener.AcceptTcpClientAsync(Ct);

        var found = await ChannelCheck.HttpEndpointAsync("webhook", new Uri($"http://127.0.0.1:{port}/hook?token=abc"), Timeout, Ct);

        Assert.Equal("TCP connect ok", found);
        using var client = await accepted;
        var buffer = new byte[16];
        Assert.Equal(0, await client.GetStream().ReadAsync(buffer, Ct)); // closed without a byte
    }

    [Fact]
    public async Task HttpEndpoint_HttpsWithUntrustedCertificate_FailsTheHandshake_NamingHostAndPortOnly()
    {
        using var certificate = SmtpTestServer.SelfSigned();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serving = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync(Ct);
            await using var tls = new SslStream(client.GetStream());
            try
            {
                await tls.AuthenticateAsServerAsync(certificate);
            }
            catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
            {
                // The client gave up on the certificate.
            }
        }, Ct);

        var e = await Assert.ThrowsAsync<NotificationException>(() =>
            ChannelCheck.HttpEndpointAsync("slack", new Uri($"https://localhost:{port}/services/T0/B0/path-secret"), Timeout, Ct));
        await serving;

        Assert.StartsWith($"slack: cannot complete a TLS handshake with localhost:{port}: ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("path-secret", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HttpEndpoint_PortClosed_FailsNamingHostAndPort()
    {
        var port = ServerProcess.FreePort();

        var e = await Assert.ThrowsAsync<NotificationException>(() =>
            ChannelCheck.HttpEndpointAsync("webhook", new Uri($"http://127.0.0.1:{port}/hook"), Timeout, Ct));

        Assert.Equal($"webhook: cannot connect to 127.0.0.1:{port}: Connection refused", e.Message);
    }
}
