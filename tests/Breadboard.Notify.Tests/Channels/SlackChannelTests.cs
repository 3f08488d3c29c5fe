using System.Text.Json;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Notify.Channels;
using Breadboard.TestKit;
using Breadboard.TestKit.Http;

namespace Breadboard.Notify.Tests.Channels;

public class SlackChannelTests
{
    /// <summary>Shaped like a real webhook path, which is the secret part of the URL.</summary>
    private const string SecretPath = "services/T0001/B0001/XXXXsecretXXXX";

    private static async Task<JsonElement> SendAndReadAsync(Notification notification)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await HttpReceiver.StartAsync(cancellationToken: ct);
        await using var channel = new SlackChannel(new SlackOptions { WebhookUrl = new Uri(receiver.Url, SecretPath) });

        await channel.SendAsync(notification, ct);

        var request = Assert.Single(receiver.Requests);
        Assert.Equal("/" + SecretPath, request.Path);
        Assert.StartsWith("application/json", request.Headers["Content-Type"], StringComparison.Ordinal);
        return JsonDocument.Parse(request.Body).RootElement.Clone();
    }

    private static List<string> BlockTypes(JsonElement message) =>
        [.. message.GetProperty("blocks").EnumerateArray().Select(b => b.GetProperty("type").GetString()!)];

    [Fact]
    public async Task Send_OneAlert_PostsTextHeaderSectionAndContext()
    {
        var notification = TestAlerts.One("slack", TestAlerts.Drop());

        var message = await SendAndReadAsync(notification);

        Assert.Equal("[Breadboard] price_drop BTC-USD \u22125.2% (5m)", message.GetProperty("text").GetString());
        Assert.Equal(["header", "section", "context"], BlockTypes(message));
        var blocks = message.GetProperty("blocks");
        var header = blocks[0].GetProperty("text");
        Assert.Equal("plain_text", header.GetProperty("type").GetString());
        Assert.Equal("price_drop BTC-USD \u22125.2% (5m)", header.GetProperty("text").GetString());
        var fields = blocks[1].GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("text").GetString()).ToList();
        Assert.Equal(4, fields.Count);
        Assert.Equal("*Symbol*\nBTC-USD", fields[0]);
        Assert.Equal("*Change*\n\u22125.2% (threshold \u22125.0%)", fields[1]);
        Assert.Equal("*Window*\n5m", fields[2]);
        Assert.Equal($"*Time*\n<!date^{TestAlerts.End / 1000}^{{date_short_pretty}} {{time_secs}}|{EventTime.ToIso(TestAlerts.End)}>", fields[3]);
        Assert.Contains(notification.Id, blocks[2].GetProperty("elements")[0].GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_AlertOfARuleWithItsOwnName_WordsTheValueInTheUnitOfTheRulesKind()
    {
        var alert = TestAlerts.Drop() with { Rule = "big_move" };
        var rules = new[] { RuleDefinition.PriceChange("big_move", "5m", ComparisonOp.LessOrEqual, -5) };

        var message = await SendAndReadAsync(TestAlerts.One("slack", alert) with { Rules = rules });
        var unknown = await SendAndReadAsync(TestAlerts.One("slack", alert));

        Assert.Equal("[Breadboard] big_move BTC-USD \u22125.2% (5m)", message.GetProperty("text").GetString());
        Assert.Equal("[Breadboard] big_move BTC-USD -5.23 (5m)", unknown.GetProperty("text").GetString());
    }

    [Fact]
    public async Task Send_ExpressionRuleAlert_SaysTheConditionAndTheOperandsInTheirUnits()
    {
        var message = await SendAndReadAsync(TestAlerts.Expression("slack", TestAlerts.Cross()));

        Assert.Equal("[Breadboard] golden_cross BTC-USD (1m): crosses_above(sma_fast, sma_slow): sma_fast 101.25 vs 100.9", message.GetProperty("text").GetString());
        var fields = message.GetProperty("blocks")[1].GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("text").GetString()).ToList();
        Assert.Equal("*Condition*\ncrosses_above(sma_fast, sma_slow): sma_fast 101.25 vs 100.9", fields[1]);
        Assert.Equal("*Window*\n1m", fields[2]);
    }

    [Fact]
    public async Task Send_ExpressionRuleAlertWithComparison_EscapesItForMrkdwn()
    {
        var message = await SendAndReadAsync(TestAlerts.Expression("slack", TestAlerts.Hot()));

        var fields = message.GetProperty("blocks")[1].GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("text").GetString()).ToList();
        Assert.Equal("*Condition*\nrsi14 &gt; 70 for 3 bars: rsi14 74.2 vs 70.0", fields[1]);
    }

    [Fact]
    public async Task Send_GroupReminder_HeaderSaysReminderAndCountsSymbols()
    {
        var message = await SendAndReadAsync(TestAlerts.Drops("slack", 3, reminder: true));

        Assert.Equal("Reminder: [Breadboard] price_drop on 3 symbols", message.GetProperty("text").GetString());
        Assert.Equal("Reminder: price_drop on 3 symbols", message.GetProperty("blocks")[0].GetProperty("text").GetProperty("text").GetString());
        Assert.Equal(["header", "section", "section", "section", "context"], BlockTypes(message));
    }

    [Fact]
    public async Task Send_MoreAlertsThanSlackTakes_StopsAt50BlocksAndSummarisesTheRest()
    {
        var message = await SendAndReadAsync(TestAlerts.Drops("slack", 60));

        var types = BlockTypes(message);
        Assert.Equal(50, types.Count);
        Assert.Equal("header", types[0]);
        Assert.Equal("context", types[^1]);
        var summary = message.GetProperty("blocks")[48].GetProperty("text").GetProperty("text").GetString();
        Assert.StartsWith("…and 13 more alerts: SYM47-USD, SYM48-USD", summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_WhenSlackAnswers500_ThrowsWithStatusAndBodyButNotTheUrl()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await HttpReceiver.StartAsync(_ => Task.FromResult((500, "invalid_blocks")), ct);
        await using var channel = new SlackChannel(new SlackOptions { WebhookUrl = new Uri(receiver.Url, SecretPath) });

        var e = await Assert.ThrowsAsync<NotificationException>(() => channel.SendAsync(TestAlerts.One("slack", TestAlerts.Drop()), ct));

        Assert.Equal($"slack: {receiver.Url.Authority} answered 500 Internal Server Error: invalid_blocks", e.Message);
        Assert.DoesNotContain("secret", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_ToClosedPort_ThrowsCannotReach()
    {
        var port = ServerProcess.FreePort();
        await using var channel = new SlackChannel(new SlackOptions { WebhookUrl = new Uri($"http://127.0.0.1:{port}/{SecretPath}") });

        var e = await Assert.ThrowsAsync<NotificationException>(
            () => channel.SendAsync(TestAlerts.One("slack", TestAlerts.Drop()), TestContext.Current.CancellationToken));

        Assert.StartsWith($"slack: cannot reach 127.0.0.1:{port}: ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_ToString_HidesTheWebhookPath()
    {
        var shown = new SlackOptions { WebhookUrl = new Uri("https://hooks.slack.com/" + SecretPath) }.ToString();

        Assert.DoesNotContain("secret", shown, StringComparison.Ordinal);
        Assert.Contains("WebhookUrl = https://hooks.slack.com/…,", shown, StringComparison.Ordinal);
    }
}
