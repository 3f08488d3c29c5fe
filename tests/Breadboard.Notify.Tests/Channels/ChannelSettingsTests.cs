using Breadboard.Notify.Channels;

namespace Breadboard.Notify.Tests.Channels;

public class ChannelSettingsTests
{
    private static readonly Dictionary<string, string> Email = new()
    {
        ["BREADBOARD_SMTP_HOST"] = "smtp.example.com",
        ["BREADBOARD_SMTP_FROM"] = "alerts@example.com",
        ["BREADBOARD_SMTP_TO"] = "ops@example.com, oncall@example.com",
    };

    private static Func<string, string?> Env(Dictionary<string, string> values, params (string Name, string? Value)[] changes)
    {
        var env = new Dictionary<string, string?>(values.Select(kv => KeyValuePair.Create(kv.Key, (string?)kv.Value)));
        foreach (var (name, value) in changes)
        {
            env[name] = value;
        }

        return name => env.GetValueOrDefault(name);
    }

    private static string Error(Action build) => Assert.Throws<ChannelSettingsException>(build).Message;

    [Fact]
    public void Email_WithOnlyRequiredVariables_UsesStartTlsOn587WithoutLogin()
    {
        var options = ChannelSettings.Email(Env(Email));

        Assert.Equal("smtp.example.com", options.Host);
        Assert.Equal(587, options.Port);
        Assert.Equal(SmtpSecurity.StartTls, options.Security);
        Assert.Null(options.User);
        Assert.Equal(["ops@example.com", "oncall@example.com"], options.To);
        Assert.Null(options.ServerCertificateValidation);
    }

    [Theory]
    [InlineData("tls", null, SmtpSecurity.Tls, 465)]
    [InlineData("TLS", "2465", SmtpSecurity.Tls, 2465)]
    [InlineData("none", "25", SmtpSecurity.None, 25)]
    [InlineData("starttls", "2525", SmtpSecurity.StartTls, 2525)]
    public void Email_SecurityAndPort_AreRead(string security, string? port, SmtpSecurity expected, int expectedPort)
    {
        var options = ChannelSettings.Email(Env(Email, ("BREADBOARD_SMTP_SECURITY", security), ("BREADBOARD_SMTP_PORT", port)));

        Assert.Equal(expected, options.Security);
        Assert.Equal(expectedPort, options.Port);
    }

    [Theory]
    [InlineData("BREADBOARD_SMTP_HOST", null, "BREADBOARD_SMTP_HOST is not set")]
    [InlineData("BREADBOARD_SMTP_FROM", " ", "BREADBOARD_SMTP_FROM is not set")]
    [InlineData("BREADBOARD_SMTP_TO", null, "BREADBOARD_SMTP_TO is not set")]
    [InlineData("BREADBOARD_SMTP_TO", ",", "BREADBOARD_SMTP_TO must list at least one address")]
    [InlineData("BREADBOARD_SMTP_TO", "ops@example.com, not an address", "BREADBOARD_SMTP_TO has an address that is not an e-mail address")]
    [InlineData("BREADBOARD_SMTP_PORT", "70000", "BREADBOARD_SMTP_PORT must be a port number (1-65535)")]
    [InlineData("BREADBOARD_SMTP_SECURITY", "ssl", "BREADBOARD_SMTP_SECURITY must be starttls, tls or none")]
    [InlineData("BREADBOARD_SMTP_USER", "alice", "BREADBOARD_SMTP_PASSWORD is required when BREADBOARD_SMTP_USER is set")]
    public void Email_WithMissingOrBadVariable_NamesIt(string name, string? value, string expected) =>
        Assert.Equal(expected, Error(() => ChannelSettings.Email(Env(Email, (name, value)))));

    [Fact]
    public void Create_Email_ReadsUserAndPassword()
    {
        var options = ChannelSettings.Email(Env(Email, ("BREADBOARD_SMTP_USER", "alice"), ("BREADBOARD_SMTP_PASSWORD", "s3cret")));

        Assert.Equal(("alice", "s3cret"), (options.User, options.Password));
        Assert.IsType<EmailChannel>(ChannelSettings.Create("email", Env(Email)));
    }

    [Fact]
    public async Task Create_Slack_ReadsTheWebhookUrl()
    {
        await using var channel = ChannelSettings.Create("slack", Env(new() { ["BREADBOARD_SLACK_WEBHOOK_URL"] = "https://hooks.slack.com/services/T/B/X" }));

        Assert.Equal("slack", channel.Name);
        Assert.IsType<SlackChannel>(channel);
    }

    [Fact]
    public void Slack_WithBadUrl_NamesTheVariableButNotTheValue()
    {
        var message = Error(() => ChannelSettings.Create("slack", Env(new() { ["BREADBOARD_SLACK_WEBHOOK_URL"] = "hooks.slack.com/services/T/B/secretpart" })));

        Assert.Equal("BREADBOARD_SLACK_WEBHOOK_URL must be an http(s) URL", message);
    }

    [Fact]
    public async Task Create_Webhook_ReadsUrlAndSecret()
    {
        using var http = new HttpClient();
        await using var channel = ChannelSettings.Create(
            "webhook", Env(new() { ["BREADBOARD_WEBHOOK_URL"] = "https://example.com/hook", ["BREADBOARD_WEBHOOK_SECRET"] = "s" }), http);

        Assert.IsType<WebhookChannel>(channel);
    }

    [Theory]
    [InlineData("BREADBOARD_WEBHOOK_URL")]
    [InlineData("BREADBOARD_WEBHOOK_SECRET")]
    public void Webhook_WithMissingVariable_NamesIt(string missing)
    {
        var env = Env(new() { ["BREADBOARD_WEBHOOK_URL"] = "https://example.com/hook", ["BREADBOARD_WEBHOOK_SECRET"] = "s" }, (missing, null));

        Assert.Equal($"{missing} is not set", Error(() => ChannelSettings.Create("webhook", env)));
    }

    [Fact]
    public void Create_WithUnknownName_ListsTheKnownOnes() =>
        Assert.Equal("unknown notification channel 'pager' (expected email, slack, webhook)", Error(() => ChannelSettings.Create("pager", Env([]))));
}
