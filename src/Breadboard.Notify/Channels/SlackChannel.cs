using System.Globalization;
using System.Text;
using System.Text.Json;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;

namespace Breadboard.Notify.Channels;

/// <summary>Where <see cref="SlackChannel"/> posts.</summary>
/// <remarks>The webhook URL is a secret (anyone holding it can post); <see cref="ToString"/> shows its host only.</remarks>
public sealed record SlackOptions
{
    /// <summary>The incoming-webhook URL, <c>https://hooks.slack.com/services/…</c>.</summary>
    public required Uri WebhookUrl { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"WebhookUrl = {SecretText.HostOnly(WebhookUrl)}, Timeout = {Timeout}");
        return true;
    }
}

/// <summary>Posts a notification to a Slack incoming webhook as a Block Kit message.</summary>
/// <remarks>
/// The message is a header, one section per alert (symbol, change, window, time; for an expression rule its
/// condition with the operands' values instead of the change) and a context line with the
/// notification id; <c>text</c> carries the same summary for push notifications and clients without blocks.
/// Slack refuses a message of more than 50 blocks, so a large group shows the first alerts and one line for the rest.
/// </remarks>
public sealed class SlackChannel : INotificationChannel
{
    private const int MaxBlocks = 50;
    private const int MaxHeaderChars = 150;

    private readonly SlackOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    /// <param name="http">A shared client, or null to make one that this channel disposes.</param>
    public SlackChannel(SlackOptions options, HttpClient? http = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _ownsHttp = http is null;
        _http = http ?? Delivery.NewClient();
    }

    public string Name => "slack";

    public Task SendAsync(Notification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notification);
        return Delivery.PostJsonAsync(_http, Name, _options.WebhookUrl, Message(notification), _options.Timeout, null, cancellationToken);
    }

    public ValueTask DisposeAsync()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private static byte[] Message(Notification notification)
    {
        var alerts = notification.Alerts;

        // Header and context take two blocks; when the alerts do not fit, one more block says how many were left out.
        var sections = alerts.Count <= MaxBlocks - 2 ? alerts.Count : MaxBlocks - 3;
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("text", Escape(AlertText.Subject(notification)));
            w.WriteStartArray("blocks");

            var header = (notification.Reminder ? "Reminder: " : "") + AlertText.Title(notification);
            w.WriteStartObject();
            w.WriteString("type", "header");
            PlainText(w, "text", header.Length <= MaxHeaderChars ? header : header[..(MaxHeaderChars - 1)] + "…");
            w.WriteEndObject();

            for (var i = 0; i < sections; i++)
            {
                var a = alerts[i];
                w.WriteStartObject();
                w.WriteString("type", "section");
                w.WriteStartArray("fields");
                Field(w, "Symbol", Escape(a.Symbol));
                if (AlertText.Condition(notification, a) is { } condition)
                {
                    Field(w, "Condition", Escape(condition));
                }
                else
                {
                    Field(w, "Change", Escape($"{AlertText.Value(notification, a)} (threshold {AlertText.Threshold(notification, a)})"));
                }

                Field(w, "Window", Escape(a.Window));
                Field(w, "Time", Date(a.WindowEnd));
                w.WriteEndArray();
                w.WriteEndObject();
            }

            if (sections < alerts.Count)
            {
                var rest = alerts.Skip(sections).Select(a => a.Symbol).Distinct(StringComparer.Ordinal).ToList();
                var names = string.Join(", ", rest.Take(20)) + (rest.Count > 20 ? ", …" : "");
                w.WriteStartObject();
                w.WriteString("type", "section");
                w.WriteStartObject("text");
                w.WriteString("type", "mrkdwn");
                w.WriteString("text", Escape(string.Create(CultureInfo.InvariantCulture, $"…and {alerts.Count - sections} more alerts: {names}")));
                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteStartObject();
            w.WriteString("type", "context");
            w.WriteStartArray("elements");
            w.WriteStartObject();
            w.WriteString("type", "mrkdwn");
            w.WriteString("text", $"Breadboard · notification `{notification.Id}`");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void PlainText(Utf8JsonWriter w, string property, string text)
    {
        w.WriteStartObject(property);
        w.WriteString("type", "plain_text");
        w.WriteString("text", text);
        w.WriteEndObject();
    }

    private static void Field(Utf8JsonWriter w, string label, string mrkdwn)
    {
        w.WriteStartObject();
        w.WriteString("type", "mrkdwn");
        w.WriteString("text", $"*{label}*\n{mrkdwn}");
        w.WriteEndObject();
    }

    /// <summary>Slack's date token: shown in the reader's time zone, with the UTC ISO time as fallback.</summary>
    private static string Date(long ms) =>
        string.Create(CultureInfo.InvariantCulture, $"<!date^{ms / 1000}^{{date_short_pretty}} {{time_secs}}|{EventTime.ToIso(ms)}>");

    /// <summary>The three characters Slack's mrkdwn wants escaped; anything else is literal.</summary>
    private static string Escape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);
}
