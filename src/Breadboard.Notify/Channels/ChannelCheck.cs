using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using MailKit.Net.Smtp;

namespace Breadboard.Notify.Channels;

/// <summary>Whether a channel's endpoint can be reached, found out without sending it anything: for <c>doctor</c>.</summary>
/// <remarks>Messages name the endpoint's host and port only: a Slack webhook URL's path is its secret, and so may a webhook's query be.</remarks>
public static class ChannelCheck
{
    /// <summary>
    /// Resolves the URL's host, opens a TCP connection to its port and, for https, completes a TLS handshake with
    /// the system's certificate check, as the channel's own client would; then closes without sending a request.
    /// </summary>
    /// <returns>What was found, e.g. <c>resolves (2 addresses), TCP connect and TLS (Tls13) ok</c>.</returns>
    /// <exception cref="NotificationException">The name does not resolve, nothing accepts the connection, the handshake fails, or a step takes longer than <paramref name="timeout"/>.</exception>
    /// <remarks>An HTTP proxy the process would use (<c>HTTPS_PROXY</c>) is not consulted: the check is of the endpoint itself.</remarks>
    public static async Task<string> HttpEndpointAsync(string channel, Uri url, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        var where = $"{url.IdnHost}:{url.Port}";
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var step = "resolve";
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(url.DnsSafeHost, deadline.Token);
            if (addresses.Length == 0)
            {
                throw new NotificationException($"{channel}: {url.IdnHost} resolves to no address");
            }

            var resolved = IPAddress.TryParse(url.DnsSafeHost, out _) ? "" : $"resolves ({Addresses(addresses)}), ";
            step = "connect to";
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(addresses, url.Port, deadline.Token);
            if (url.Scheme != Uri.UriSchemeHttps)
            {
                return $"{resolved}TCP connect ok";
            }

            step = "complete a TLS handshake with";
            await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = url.IdnHost }, deadline.Token);
            return $"{resolved}TCP connect and TLS ({tls.SslProtocol}) ok";
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new NotificationException($"{channel}: could not {step} {where} within {timeout.TotalSeconds:0.#} s", e);
        }
        catch (Exception e) when (e is SocketException or IOException or AuthenticationException)
        {
            throw new NotificationException($"{channel}: cannot {step} {where}: {Delivery.OneLine(e.Message)}", e);
        }
    }

    /// <summary>
    /// Connects to the SMTP server as the email channel does (implicit TLS or STARTTLS as configured), which reads
    /// its greeting and its answer to EHLO, then says QUIT: no login, no mail.
    /// </summary>
    /// <returns>What was found, e.g. <c>answered EHLO, STARTTLS (Tls13), offers AUTH LOGIN PLAIN</c>.</returns>
    /// <exception cref="NotificationException">The server cannot be reached, refuses, fails the handshake, offers no AUTH when a user is set, or a step takes longer than <paramref name="timeout"/>.</exception>
    public static async Task<string> SmtpAsync(EmailOptions options, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var where = $"smtp {options.Host}:{options.Port}";
        using var client = EmailChannel.Client(options, timeout);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        string found;
        try
        {
            await client.ConnectAsync(options.Host, options.Port, EmailChannel.Map(options.Security), deadline.Token);
            found = $"answered EHLO, {(client.IsSecure ? $"{(options.Security == SmtpSecurity.Tls ? "TLS" : "STARTTLS")} ({client.SslProtocol})" : "no TLS (security none)")}";
            var auth = client.Capabilities.HasFlag(SmtpCapabilities.Authentication);
            if (options.User is not null && !auth)
            {
                throw new NotificationException($"email: {where} offers no AUTH, but {ChannelSettings.SmtpUserVariable} is set");
            }

            if (auth)
            {
                found += $", offers AUTH {string.Join(' ', client.AuthenticationMechanisms.Order(StringComparer.Ordinal))}";
            }

            await client.DisconnectAsync(quit: true, deadline.Token);
        }
        catch (Exception e) when (EmailChannel.Describe(e, options) is { } reason)
        {
            throw new NotificationException($"email: {where} {reason}", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new NotificationException($"email: {where} did not answer within {timeout.TotalSeconds:0.#} s", e);
        }

        return found;
    }

    private static string Addresses(IPAddress[] addresses) =>
        addresses.Length == 1 ? addresses[0].ToString() : $"{addresses.Length} addresses";
}
