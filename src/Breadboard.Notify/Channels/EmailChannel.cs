using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Breadboard.Core.Model;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Breadboard.Notify.Channels;

/// <summary>How the SMTP connection is secured.</summary>
public enum SmtpSecurity
{
    /// <summary>Plain text; only for a relay on the same host or network.</summary>
    None,

    /// <summary>Plain connect, then upgrade with STARTTLS; refuses to go on if the server cannot (port 587).</summary>
    StartTls,

    /// <summary>TLS from the first byte (port 465).</summary>
    Tls,
}

/// <summary>Where and how <see cref="EmailChannel"/> sends mail.</summary>
/// <remarks><see cref="ToString"/> leaves the password out, so the options can be logged.</remarks>
public sealed record EmailOptions
{
    public required string Host { get; init; }

    public int Port { get; init; } = 587;

    public SmtpSecurity Security { get; init; } = SmtpSecurity.StartTls;

    /// <summary>Log in only when set.</summary>
    public string? User { get; init; }

    public string? Password { get; init; }

    public required string From { get; init; }

    public required IReadOnlyList<string> To { get; init; }

    /// <summary>Per SMTP command (connect, each read and write).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Replaces the system's check of the server's TLS certificate; null (the default) keeps it.</summary>
    /// <remarks>For a server with a private or self-signed certificate: pin that certificate here rather than accept any.</remarks>
    public RemoteCertificateValidationCallback? ServerCertificateValidation { get; init; }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Host = {Host}, Port = {Port}, Security = {Security}, User = {User}, Password = {(Password is null ? "" : "***")}, ");
        builder.Append($"From = {From}, To = [{string.Join(", ", To)}], Timeout = {Timeout}, ServerCertificateValidation = {(ServerCertificateValidation is null ? "system" : "custom")}");
        return true;
    }
}

/// <summary>Sends a notification as one e-mail (plain text and HTML) over SMTP with MailKit.</summary>
/// <remarks>
/// Each send opens its own connection (connect, log in when <see cref="EmailOptions.User"/> is set, send, quit):
/// alerts are rare, and a held-open connection would be dropped by most servers between them.
/// The notification id goes in <c>X-Breadboard-Notification-Id</c> and in the Message-Id, so a resend after a crash
/// carries the same Message-Id and mail clients that de-duplicate on it show it once.
/// </remarks>
public sealed class EmailChannel : INotificationChannel
{
    public const string IdHeader = "X-Breadboard-Notification-Id";

    private readonly EmailOptions _options;
    private readonly MailboxAddress _from;
    private readonly List<MailboxAddress> _to;

    public EmailChannel(EmailOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _from = MailboxAddress.Parse(options.From);
        _to = [.. options.To.Select(MailboxAddress.Parse)];
        if (_to.Count == 0)
        {
            throw new ArgumentException("email: at least one recipient is needed", nameof(options));
        }
    }

    public string Name => "email";

    public async Task SendAsync(Notification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notification);
        using var message = Compose(notification);
        using var client = Client(_options, _options.Timeout);
        try
        {
            await client.ConnectAsync(_options.Host, _options.Port, Map(_options.Security), cancellationToken);
            if (_options.User is { Length: > 0 } user)
            {
                await client.AuthenticateAsync(user, _options.Password ?? "", cancellationToken);
            }

            await client.SendAsync(message, cancellationToken);
            await client.DisconnectAsync(quit: true, cancellationToken);
        }
        catch (Exception e) when (Describe(e, _options) is { } reason)
        {
            throw new NotificationException($"email: smtp {_options.Host}:{_options.Port} {reason}", e);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private MimeMessage Compose(Notification notification)
    {
        var message = new MimeMessage { Subject = AlertText.Subject(notification) };
        message.From.Add(_from);
        message.To.AddRange(_to);
        message.MessageId = $"{notification.Id}@{(string.IsNullOrEmpty(_from.Domain) ? "breadboard" : _from.Domain)}";
        message.Headers.Add(IdHeader, notification.Id);
        message.Body = new BodyBuilder { TextBody = TextBody(notification), HtmlBody = HtmlBody(notification) }.ToMessageBody();
        return message;
    }

    private static string TextBody(Notification notification)
    {
        var text = new StringBuilder();
        text.Append(AlertText.Title(notification)).Append("\n\n");
        if (notification.Reminder)
        {
            text.Append(AlertText.Reminder).Append("\n\n");
        }

        foreach (var rule in AlertText.Rules(notification))
        {
            text.Append($"Rule {rule}\n");
        }

        text.Append('\n');
        foreach (var a in notification.Alerts)
        {
            text.Append(AlertText.Condition(notification, a) is { } condition
                ? $"{a.Symbol}  {a.Rule}: {condition}\n"
                : $"{a.Symbol}  {a.Rule} {AlertText.Value(notification, a)} (threshold {AlertText.Threshold(notification, a)})\n");
            text.Append($"    window {a.Window}: {EventTime.ToIso(a.WindowStart)} to {EventTime.ToIso(a.WindowEnd)}\n");
        }

        text.Append($"\nNotification {notification.Id}, sent by Breadboard.\n");
        return text.ToString();
    }

    private static string HtmlBody(Notification notification)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><body style=\"font-family:sans-serif\">");
        html.Append($"<h2>{E(AlertText.Title(notification))}</h2>");
        if (notification.Reminder)
        {
            html.Append($"<p><em>{E(AlertText.Reminder)}</em></p>");
        }

        foreach (var rule in AlertText.Rules(notification))
        {
            html.Append($"<p>Rule <code>{E(rule)}</code></p>");
        }

        html.Append("<table cellpadding=\"4\" style=\"border-collapse:collapse\">");
        html.Append("<tr><th align=\"left\">Symbol</th><th align=\"left\">Rule</th><th align=\"right\">Value</th><th align=\"right\">Threshold</th><th align=\"left\">Window</th><th align=\"left\">Window end (UTC)</th></tr>");
        foreach (var a in notification.Alerts)
        {
            html.Append($"<tr><td>{E(a.Symbol)}</td><td>{E(a.Rule)}</td><td align=\"right\">{E(AlertText.Operand(notification, a))}</td><td align=\"right\">{E(AlertText.Threshold(notification, a))}</td>");
            html.Append($"<td>{E(a.Window)}</td><td>{E(EventTime.ToIso(a.WindowEnd))}</td></tr>");
        }

        html.Append($"</table><p style=\"color:#888\">Notification {E(notification.Id)}, sent by Breadboard.</p></body></html>");
        return html.ToString();
    }

    /// <summary>A client set up as <paramref name="options"/> say: per-command timeout, certificate check.</summary>
    internal static SmtpClient Client(EmailOptions options, TimeSpan timeout)
    {
        var client = new SmtpClient { Timeout = (int)timeout.TotalMilliseconds };
        if (options.ServerCertificateValidation is { } validate)
        {
            client.ServerCertificateValidationCallback = validate;

            // A private certificate names no revocation list; checking would only add a failing lookup.
            client.CheckCertificateRevocation = false;
        }

        return client;
    }

    internal static SecureSocketOptions Map(SmtpSecurity security) => security switch
    {
        SmtpSecurity.None => SecureSocketOptions.None,
        SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
        SmtpSecurity.Tls => SecureSocketOptions.SslOnConnect,
        _ => throw new ArgumentOutOfRangeException(nameof(security), security, null),
    };

    /// <summary>The failure in words after "email: smtp host:port", or null for an exception that is a bug, not a delivery failure.</summary>
    internal static string? Describe(Exception e, EmailOptions options) => e switch
    {
        SmtpCommandException c when c.ErrorCode == SmtpErrorCode.RecipientNotAccepted => $"refused recipient {c.Mailbox?.Address}: {Reply(c)}",
        SmtpCommandException c when c.ErrorCode == SmtpErrorCode.SenderNotAccepted => $"refused sender {c.Mailbox?.Address}: {Reply(c)}",
        SmtpCommandException c when c.ErrorCode == SmtpErrorCode.MessageNotAccepted => $"refused the message: {Reply(c)}",
        SmtpCommandException c => $"answered {Reply(c)}",
        ServiceNotAuthenticatedException => $"requires a login: {Delivery.OneLine(e.Message)}",
        AuthenticationException a => $"refused login as {options.User}: {Delivery.OneLine(a.Message)}",
        SslHandshakeException => "TLS handshake failed (untrusted certificate, or the port does not speak TLS)",
        SmtpProtocolException or ProtocolException => $"broke the protocol: {Delivery.OneLine(e.Message)}",
        SocketException or IOException or TimeoutException => $"unreachable: {Delivery.OneLine(e.Message)}",

        // MailKit's way of saying the server lacks AUTH or STARTTLS.
        NotSupportedException => $"cannot do what the settings ask: {Delivery.OneLine(e.Message)}",
        _ => null,
    };

    private static string Reply(SmtpCommandException c) => $"{(int)c.StatusCode} {Delivery.OneLine(c.Message)}";
}
