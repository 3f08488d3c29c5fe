using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;

namespace Breadboard.Notify;

/// <summary>One message to one channel: a single alert, or the alerts of one rule that fired within a group window.</summary>
/// <param name="Channel">The channel it goes to (<c>email</c>, <c>slack</c>, <c>webhook</c>, <c>dashboard</c>).</param>
/// <param name="Alerts">At least one alert, in the order they fired.</param>
/// <param name="Reminder">True when an earlier notification already covered the same (rule, symbol) and the repeat interval has passed.</param>
public sealed record Notification(string Channel, IReadOnlyList<Alert> Alerts, bool Reminder = false)
{
    /// <summary>
    /// The rules whose alerts it words (<see cref="Notifier.NotifierOptions.Rules"/>): each value is written in the unit of its
    /// rule's kind. Not part of the JSON.
    /// </summary>
    public IReadOnlyList<RuleDefinition> Rules { get; init; } = PipelineDefinition.Default.Rules;

    /// <summary>
    /// A stable id: the same alerts to the same channel give the same id, so a receiver can drop a notification
    /// sent twice (after a crash between delivery and acknowledgement).
    /// </summary>
    public string Id
    {
        get
        {
            var text = Channel + "\n" + string.Join('\n', Alerts.Select(a => a.Id));
            return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32];
        }
    }

    /// <summary>The notification as JSON: <c>{"id","channel","reminder","alerts":[…]}</c>, each alert as on the stream.</summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", Id);
            w.WriteString("channel", Channel);
            w.WriteBoolean("reminder", Reminder);
            w.WriteStartArray("alerts");
            foreach (var alert in Alerts)
            {
                w.WriteRawValue(RecordJson.Alert(alert));
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }
}

/// <summary>A way of telling people about alerts. <see cref="SendAsync"/> returns once the receiver accepted the notification.</summary>
/// <remarks>A failure throws (<see cref="NotificationException"/> for the receiver's refusals); the caller retries with backoff and dead-letters after its last try.</remarks>
public interface INotificationChannel : IAsyncDisposable
{
    /// <summary><c>email</c>, <c>slack</c> or <c>webhook</c>.</summary>
    string Name { get; }

    Task SendAsync(Notification notification, CancellationToken cancellationToken);
}

/// <summary>A receiver refused or could not take a notification; the message is one line, with no secrets in it.</summary>
public sealed class NotificationException : Exception
{
    public NotificationException()
    {
    }

    public NotificationException(string message)
        : base(message)
    {
    }

    public NotificationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
