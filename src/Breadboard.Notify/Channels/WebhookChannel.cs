using System.Text;

namespace Breadboard.Notify.Channels;

/// <summary>Where <see cref="WebhookChannel"/> posts and the secret it signs with.</summary>
/// <remarks><see cref="ToString"/> leaves the secret out.</remarks>
public sealed record WebhookOptions
{
    public required Uri Url { get; init; }

    /// <summary>The HMAC key shared with the receiver.</summary>
    public required string Secret { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"Url = {Url.Scheme}://{Url.Authority}{Url.AbsolutePath}, Secret = ***, Timeout = {Timeout}");
        return true;
    }
}

/// <summary>POSTs a notification as signed JSON to a URL of the user's choosing.</summary>
/// <remarks>
/// <para>Body (UTF-8): <c>{"id": "&lt;notification id&gt;", "channel": "webhook", "reminder": false, "alerts": [ … ]}</c>,
/// each alert in the same JSON as on the Kafka and NATS alert topics.</para>
/// <para>Headers:</para>
/// <list type="bullet">
/// <item><c>Content-Type: application/json</c></item>
/// <item><c>Breadboard-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256(secret, t + "." + body)&gt;</c>;
/// check it with <see cref="WebhookSignature.Verify"/>, which also refuses deliveries older than five minutes.</item>
/// <item><c>Breadboard-Delivery-Id: &lt;notification id&gt;</c>: the same for a retry of the same notification,
/// so a receiver drops a delivery whose id it has already seen.</item>
/// </list>
/// <para>Any 2xx answer is success; anything else is a <see cref="NotificationException"/> and the caller retries.</para>
/// </remarks>
public sealed class WebhookChannel : INotificationChannel
{
    private readonly WebhookOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly TimeProvider _time;

    /// <param name="http">A shared client, or null to make one that this channel disposes.</param>
    /// <param name="time">The clock stamped into signatures; the system clock when null.</param>
    public WebhookChannel(WebhookOptions options, HttpClient? http = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.Secret, nameof(options));
        _options = options;
        _ownsHttp = http is null;
        _http = http ?? Delivery.NewClient();
        _time = time ?? TimeProvider.System;
    }

    public string Name => "webhook";

    public Task SendAsync(Notification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var body = notification.ToJson();

        // Signed per attempt: a retry gets a fresh timestamp, so it is not refused as stale.
        var signature = WebhookSignature.Sign(_options.Secret, _time.GetUtcNow(), body);
        return Delivery.PostJsonAsync(
            _http,
            Name,
            _options.Url,
            body,
            _options.Timeout,
            headers =>
            {
                headers.Add(WebhookSignature.Header, signature);
                headers.Add(WebhookSignature.DeliveryIdHeader, notification.Id);
            },
            cancellationToken);
    }

    public ValueTask DisposeAsync()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }

        return ValueTask.CompletedTask;
    }
}
