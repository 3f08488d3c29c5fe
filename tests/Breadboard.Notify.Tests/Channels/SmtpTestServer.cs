using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Breadboard.TestKit;
using MimeKit;
using SmtpServer;
using SmtpServer.Authentication;
using SmtpServer.ComponentModel;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace Breadboard.Notify.Tests.Channels;

/// <summary>A real SMTP server (the SmtpServer library) on a free loopback port that keeps what it receives.</summary>
internal sealed class SmtpTestServer : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task _running = Task.CompletedTask;

    private SmtpTestServer(int port) => Port = port;

    public int Port { get; }

    public ConcurrentQueue<Received> Messages { get; } = new();

    /// <summary>User names and passwords the server was offered, accepted or not.</summary>
    public ConcurrentQueue<(string User, string Password)> Logins { get; } = new();

    public sealed record Received(IReadOnlyList<string> Recipients, MimeMessage Message, bool Secure);

    /// <param name="login">When set, AUTH is required and only this user and password pass.</param>
    /// <param name="refuse">Recipients answered with 550.</param>
    /// <param name="certificate">When set, the server offers STARTTLS with it.</param>
    public static async Task<SmtpTestServer> StartAsync(
        (string User, string Password)? login = null, string? refuse = null, X509Certificate2? certificate = null, CancellationToken cancellationToken = default)
    {
        var server = new SmtpTestServer(ServerProcess.FreePort());
        var options = new SmtpServerOptionsBuilder()
            .ServerName("localhost")
            .Endpoint(e =>
            {
                e.Endpoint(new IPEndPoint(IPAddress.Loopback, server.Port));
                if (login is not null)
                {
                    e.AuthenticationRequired(true).AllowUnsecureAuthentication(true);
                }

                if (certificate is not null)
                {
                    e.Certificate(certificate);
                }
            })
            .Build();

        var services = new ServiceProvider();
        services.Add(new Store(server));
        services.Add(new Filter(refuse));
        services.Add(new DelegatingUserAuthenticator((_, user, password) =>
        {
            server.Logins.Enqueue((user, password));
            return login is { } l && l.User == user && l.Password == password;
        }));

        server._running = new SmtpServer.SmtpServer(options, services).StartAsync(server._stop.Token);
        await WaitUntilListeningAsync(server.Port, cancellationToken);
        return server;
    }

    /// <summary>A self-signed certificate for 127.0.0.1, made per test run.</summary>
    public static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _running;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    /// <summary>The library binds inside StartAsync without telling when; connect until it answers.</summary>
    private static async Task WaitUntilListeningAsync(int port, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return;
            }
            catch (SocketException) when (attempt < 100)
            {
                await Task.Delay(20, cancellationToken);
            }
        }
    }

    private sealed class Store(SmtpTestServer server) : MessageStore
    {
        public override async Task<SmtpResponse> SaveAsync(
            ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            using var stream = new MemoryStream(buffer.ToArray());
            var message = await MimeMessage.LoadAsync(stream, cancellationToken);
            server.Messages.Enqueue(new Received([.. transaction.To.Select(m => m.AsAddress())], message, context.Pipe.IsSecure));
            return SmtpResponse.Ok;
        }
    }

    private sealed class Filter(string? refuse) : MailboxFilter
    {
        public override Task<bool> CanDeliverToAsync(ISessionContext context, IMailbox to, IMailbox from, CancellationToken cancellationToken) =>
            Task.FromResult(!string.Equals(to.AsAddress(), refuse, StringComparison.OrdinalIgnoreCase));
    }
}
