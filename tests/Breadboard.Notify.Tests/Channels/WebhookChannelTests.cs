using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using Breadboard.Notify.Channels;
using Breadboard.TestKit;
using Breadboard.TestKit.Http;

namespace Breadboard.Notify.Tests.Channels;

public class WebhookChannelTests
{
    private const string Secret = "whsec_test_0123456789";

    /// <summary>A receiver as a user would write one: verify the raw body first, answer 401 with the reason otherwise.</summary>
    private static Task<HttpReceiver> VerifyingReceiverAsync() =>
        HttpReceiver.StartAsync(
            request =>
            {
                var check = WebhookSignature.Verify(Secret, request.Headers.GetValueOrDefault(WebhookSignature.Header), request.Body, DateTimeOffset.UtcNow);
                return Task.FromResult(check == SignatureCheck.Valid ? (200, "accepted") : (401, check.ToString()));
            },
            TestContext.Current.CancellationToken);

    private static WebhookChannel Channel(HttpReceiver receiver, string secret = Secret, TimeProvider? time = null, HttpClient? http = null) =>
        new(new WebhookOptions { Url = new Uri(receiver.Url, "hooks/breadboard"), Secret = secret }, http, time);

    [Fact]
    public async Task Send_PostsSignedJsonWithDeliveryId()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await VerifyingReceiverAsync();
        await using var channel = Channel(receiver);
        var notification = new Notification("webhook", [TestAlerts.Drop(), TestAlerts.Surge()], Reminder: true);

        await channel.SendAsync(notification, ct);

        var request = Assert.Single(receiver.Requests);
        Assert.Equal("/hooks/breadboard", request.Path);
        Assert.StartsWith("application/json", request.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.Equal(notification.Id, request.Headers[WebhookSignature.DeliveryIdHeader]);

        var root = JsonDocument.Parse(request.Body).RootElement;
        Assert.Equal(["id", "channel", "reminder", "alerts"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(notification.Id, root.GetProperty("id").GetString());
        Assert.Equal("webhook", root.GetProperty("channel").GetString());
        Assert.True(root.GetProperty("reminder").GetBoolean());
        var alerts = root.GetProperty("alerts").EnumerateArray().ToList();
        Assert.Equal(2, alerts.Count);
        for (var i = 0; i < alerts.Count; i++)
        {
            Assert.Equal(RecordJson.Alert(notification.Alerts[i]), Encoding.UTF8.GetBytes(alerts[i].GetRawText()));
            Assert.True(RecordJson.TryParseAlert(Encoding.UTF8.GetBytes(alerts[i].GetRawText()), out var back, out _));
            Assert.Equal(notification.Alerts[i], back);
        }
    }

    [Fact]
    public async Task Send_Signature_MatchesAnIndependentHmacOfTimestampDotBody()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await VerifyingReceiverAsync();
        await using var channel = Channel(receiver);
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        await channel.SendAsync(TestAlerts.One("webhook", TestAlerts.Drop()), ct);

        var request = Assert.Single(receiver.Requests);
        var parts = request.Headers[WebhookSignature.Header].Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal(["t", "v1"], parts.Keys);
        var t = long.Parse(parts["t"], CultureInfo.InvariantCulture);
        Assert.InRange(t, before, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        using var hmac = new HMACSHA256(Encoding.UTF8.GetBytes(Secret));
        var expected = hmac.ComputeHash([.. Encoding.UTF8.GetBytes(parts["t"] + "."), .. request.Body]);
        Assert.Equal(Convert.ToHexStringLower(expected), parts["v1"]);
    }

    [Fact]
    public async Task Receiver_WithTamperedBody_RefusesIt()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await VerifyingReceiverAsync();
        await using (var channel = Channel(receiver))
        {
            await channel.SendAsync(TestAlerts.One("webhook", TestAlerts.Drop()), ct);
        }

        // Replay the captured delivery with the drop turned into a bigger one.
        var original = Assert.Single(receiver.Requests);
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(original.Body).Replace("-5.23", "-9.23", StringComparison.Ordinal));
        Assert.NotEqual(original.Body, tampered);
        using var http = new HttpClient();
        using var content = new ByteArrayContent(tampered);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(receiver.Url, "hooks/breadboard")) { Content = content };
        request.Headers.Add(WebhookSignature.Header, original.Headers[WebhookSignature.Header]);

        using var response = await http.SendAsync(request, ct);

        Assert.Equal(401, (int)response.StatusCode);
        Assert.Equal("Mismatch", await response.Content.ReadAsStringAsync(ct));
    }

    [Fact]
    public async Task Send_SignedTenMinutesAgo_IsRefusedAsStale()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await VerifyingReceiverAsync();
        await using var channel = Channel(receiver, time: new FixedClock(DateTimeOffset.UtcNow.AddMinutes(-10)));

        var e = await Assert.ThrowsAsync<NotificationException>(() => channel.SendAsync(TestAlerts.One("webhook", TestAlerts.Drop()), ct));

        Assert.Equal($"webhook: {receiver.Url.Authority} answered 401 Unauthorized: Stale", e.Message);
    }

    [Fact]
    public async Task Send_WithAnotherSecret_IsRefusedAndTheSecretIsNotInTheMessage()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await VerifyingReceiverAsync();
        await using var channel = Channel(receiver, secret: "not-the-shared-secret");

        var e = await Assert.ThrowsAsync<NotificationException>(() => channel.SendAsync(TestAlerts.One("webhook", TestAlerts.Drop()), ct));

        Assert.Equal($"webhook: {receiver.Url.Authority} answered 401 Unauthorized: Mismatch", e.Message);
        Assert.DoesNotContain("not-the-shared-secret", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_WhenReceiverAnswers500_Throws()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await HttpReceiver.StartAsync(_ => Task.FromResult((500, "database is down\nstack trace…")), ct);
        await using var channel = Channel(receiver);

        var e = await Assert.ThrowsAsync<NotificationException>(() => channel.SendAsync(TestAlerts.One("webhook", TestAlerts.Drop()), ct));

        Assert.Equal($"webhook: {receiver.Url.Authority} answered 500 Internal Server Error: database is down stack trace…", e.Message);
    }

    [Fact]
    public async Task Send_WhenReceiverAnswersWithEscapeSequencesAndBidiOverrides_TheMessageHasNone()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await HttpReceiver.StartAsync(_ => Task.FromResult((500, "\u001b[31mdisk full\u001b[0m \u202Egnp.exe\u0007\u009b2J")), ct);
        await using var channel = Channel(receiver);

        var e = await Assert.ThrowsAsync<NotificationException>(() => channel.SendAsync(TestAlerts.One("webhook", TestAlerts.Drop()), ct));

        Assert.Equal($"webhook: {receiver.Url.Authority} answered 500 Internal Server Error: disk full gnp.exe", e.Message);
    }

    [Fact]
    public async Task Send_ToClosedPort_ThrowsCannotReach()
    {
        var port = ServerProcess.FreePort();
        await using var channel = new WebhookChannel(new WebhookOptions { Url = new Uri($"http://127.0.0.1:{port}/hook"), Secret = Secret });

        var e = await Assert.ThrowsAsync<NotificationException>(
            () => channel.SendAsync(TestAlerts.One("webhook", TestAlerts.Drop()), TestContext.Current.CancellationToken));

        Assert.StartsWith($"webhook: cannot reach 127.0.0.1:{port}: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_WhenReceiverIsTooSlow_ThrowsTimeoutEvenWithASharedClient()
    {
        var ct = TestContext.Current.CancellationToken;
        var release = new TaskCompletionSource();
        await using var receiver = await HttpReceiver.StartAsync(
            async _ =>
            {
                await release.Task;
                return (200, "late");
            },
            ct);
        using var shared = new HttpClient();
        await using var channel = new WebhookChannel(
            new WebhookOptions { Url = new Uri(receiver.Url, "hook"), Secret = Secret, Timeout = TimeSpan.FromMilliseconds(300) }, shared);

        try
        {
            var e = await Assert.ThrowsAsync<NotificationException>(() => channel.SendAsync(TestAlerts.One("webhook", TestAlerts.Drop()), ct));

            Assert.Equal($"webhook: {receiver.Url.Authority} did not answer within 0.3 s", e.Message);
        }
        finally
        {
            release.SetResult();
        }
    }

    [Fact]
    public async Task Send_WhenCancelled_ThrowsOperationCanceled()
    {
        await using var receiver = await VerifyingReceiverAsync();
        await using var channel = Channel(receiver);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => channel.SendAsync(TestAlerts.One("webhook", TestAlerts.Drop()), new CancellationToken(canceled: true)));
        Assert.Empty(receiver.Requests);
    }

    [Fact]
    public void Options_ToString_HidesTheSecret() =>
        Assert.DoesNotContain(Secret, new WebhookOptions { Url = new Uri("https://example.com/hook"), Secret = Secret }.ToString(), StringComparison.Ordinal);

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
