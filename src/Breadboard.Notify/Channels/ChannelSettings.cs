using System.Globalization;
using MimeKit;

namespace Breadboard.Notify.Channels;

/// <summary>A channel setting is missing or wrong; the message is one line naming the variable, never its value.</summary>
public sealed class ChannelSettingsException : Exception
{
    public ChannelSettingsException()
    {
    }

    public ChannelSettingsException(string message)
        : base(message)
    {
    }

    public ChannelSettingsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Builds channels from <c>BREADBOARD_*</c> environment variables.</summary>
/// <remarks>
/// Secrets (SMTP password, Slack webhook URL, webhook secret) come only from the environment, never from flags,
/// where they would show in the process list and shell history. Errors name variables, never their values.
/// <list type="bullet">
/// <item>email: <c>BREADBOARD_SMTP_HOST</c>, <c>BREADBOARD_SMTP_PORT</c> (587; 465 with tls), <c>BREADBOARD_SMTP_SECURITY</c>
/// (<c>starttls</c> default, <c>tls</c>, <c>none</c>), <c>BREADBOARD_SMTP_USER</c> and <c>BREADBOARD_SMTP_PASSWORD</c> (optional, together),
/// <c>BREADBOARD_SMTP_FROM</c>, <c>BREADBOARD_SMTP_TO</c> (comma-separated)</item>
/// <item>slack: <c>BREADBOARD_SLACK_WEBHOOK_URL</c></item>
/// <item>webhook: <c>BREADBOARD_WEBHOOK_URL</c>, <c>BREADBOARD_WEBHOOK_SECRET</c></item>
/// </list>
/// </remarks>
public static class ChannelSettings
{
    public const string SmtpHostVariable = "BREADBOARD_SMTP_HOST";
    public const string SmtpPortVariable = "BREADBOARD_SMTP_PORT";
    public const string SmtpSecurityVariable = "BREADBOARD_SMTP_SECURITY";
    public const string SmtpUserVariable = "BREADBOARD_SMTP_USER";
    public const string SmtpPasswordVariable = "BREADBOARD_SMTP_PASSWORD";
    public const string SmtpFromVariable = "BREADBOARD_SMTP_FROM";
    public const string SmtpToVariable = "BREADBOARD_SMTP_TO";
    public const string SlackWebhookUrlVariable = "BREADBOARD_SLACK_WEBHOOK_URL";
    public const string WebhookUrlVariable = "BREADBOARD_WEBHOOK_URL";
    public const string WebhookSecretVariable = "BREADBOARD_WEBHOOK_SECRET";

    public static IReadOnlyList<string> Names { get; } = ["email", "slack", "webhook"];

    /// <summary>The named channel, configured from <paramref name="getEnv"/> (<see cref="Environment.GetEnvironmentVariable(string)"/> in a host).</summary>
    /// <param name="http">Shared by the HTTP channels; each makes and owns its own when null.</param>
    /// <exception cref="ChannelSettingsException">Unknown name, or a variable missing or invalid.</exception>
    public static INotificationChannel Create(string name, Func<string, string?> getEnv, HttpClient? http = null) => name switch
    {
        "email" => new EmailChannel(Email(getEnv)),
        "slack" => new SlackChannel(Slack(getEnv), http),
        "webhook" => new WebhookChannel(Webhook(getEnv), http),
        _ => throw new ChannelSettingsException($"unknown notification channel '{name}' (expected {string.Join(", ", Names)})"),
    };

    public static EmailOptions Email(Func<string, string?> getEnv)
    {
        ArgumentNullException.ThrowIfNull(getEnv);
        var security = Optional(getEnv, SmtpSecurityVariable)?.ToUpperInvariant() switch
        {
            null or "STARTTLS" => SmtpSecurity.StartTls,
            "TLS" => SmtpSecurity.Tls,
            "NONE" => SmtpSecurity.None,
            _ => throw new ChannelSettingsException($"{SmtpSecurityVariable} must be starttls, tls or none"),
        };

        // 587 is submission with STARTTLS; implicit TLS listens on 465, and 587 would hang in the handshake.
        var port = security == SmtpSecurity.Tls ? 465 : 587;
        if (Optional(getEnv, SmtpPortVariable) is { } portText
            && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            throw new ChannelSettingsException($"{SmtpPortVariable} must be a port number (1-65535)");
        }

        var user = Optional(getEnv, SmtpUserVariable);
        var password = Optional(getEnv, SmtpPasswordVariable);
        if (user is not null && password is null)
        {
            throw new ChannelSettingsException($"{SmtpPasswordVariable} is required when {SmtpUserVariable} is set");
        }

        var from = Address(Required(getEnv, SmtpFromVariable), SmtpFromVariable);
        var to = Required(getEnv, SmtpToVariable)
            .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(a => Address(a, SmtpToVariable))
            .ToList();
        if (to.Count == 0)
        {
            throw new ChannelSettingsException($"{SmtpToVariable} must list at least one address");
        }

        return new EmailOptions
        {
            Host = Required(getEnv, SmtpHostVariable),
            Port = port,
            Security = security,
            User = user,
            Password = password,
            From = from,
            To = to,
        };
    }

    public static SlackOptions Slack(Func<string, string?> getEnv)
    {
        ArgumentNullException.ThrowIfNull(getEnv);
        return new SlackOptions { WebhookUrl = Url(getEnv, SlackWebhookUrlVariable) };
    }

    public static WebhookOptions Webhook(Func<string, string?> getEnv)
    {
        ArgumentNullException.ThrowIfNull(getEnv);
        return new WebhookOptions { Url = Url(getEnv, WebhookUrlVariable), Secret = Required(getEnv, WebhookSecretVariable) };
    }

    private static string? Optional(Func<string, string?> getEnv, string name) =>
        getEnv(name) is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    private static string Required(Func<string, string?> getEnv, string name) =>
        Optional(getEnv, name) ?? throw new ChannelSettingsException($"{name} is not set");

    private static Uri Url(Func<string, string?> getEnv, string name) =>
        Uri.TryCreate(Required(getEnv, name), UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp)
            ? url
            : throw new ChannelSettingsException($"{name} must be an http(s) URL");

    private static string Address(string text, string name) =>
        MailboxAddress.TryParse(text, out var address) && address.Address.Contains('@', StringComparison.Ordinal)
            ? text
            : throw new ChannelSettingsException($"{name} has an address that is not an e-mail address");
}
