using System.Text;
using Breadboard.Core.Model;
using Confluent.Kafka;

namespace Breadboard.Kafka.Tests;

public sealed class GroupConsumersTests
{
    private static readonly TopicPartition Stock3 = new("stock-prices", 3);

    private static Dictionary<string, string> Headers(Message<string, byte[]> message) =>
        message.Headers.ToDictionary(h => h.Key, h => Encoding.UTF8.GetString(h.GetValueBytes()));

    [Fact]
    public void DeadLetter_OfAMessage_KeepsItAsItCameWithTheReasonAndItsSource()
    {
        var result = Messages.At(Stock3, 42, "not json");

        var letter = GroupConsumers.DeadLetter(result, "malformed JSON: 'n' is invalid");

        Assert.Equal("k", letter.Key);
        Assert.Equal("not json", Encoding.UTF8.GetString(letter.Value));
        Assert.Equal(
            new Dictionary<string, string> { ["reason"] = "malformed JSON: 'n' is invalid", ["source-topic"] = "stock-prices", ["source-partition"] = "3", ["source-offset"] = "42" },
            Headers(letter));
    }

    [Fact]
    public void DeadLetter_OfARefusedTick_IsAVersionedTickMessageWithTheSameHeaders()
    {
        var tick = new Tick("AAPL", 1_700_000_000_000, 101.5, 3, TradeId.FromNumber(7), "XNAS", AssetClass.Stock);

        var letter = GroupConsumers.DeadLetter(Stock3, 17, tick, "from the future");

        Assert.Equal("AAPL", letter.Key);
        using var messages = new TickMessages();
        Assert.True(messages.TryParse(letter.Value, out var parsed, out var error), error);
        Assert.Equal(tick, parsed);
        Assert.Equal(["reason", "source-topic", "source-partition", "source-offset"], letter.Headers.Select(h => h.Key));
        Assert.Equal("17", Headers(letter)["source-offset"]);
    }

    [Fact]
    public void Config_StoresPositionsItselfWithCooperativeRebalancing()
    {
        var config = GroupConsumers.Config(new KafkaBusOptions { BootstrapServers = "127.0.0.1:9092" }, "g", TimeSpan.FromSeconds(3));

        Assert.False(config.EnableAutoCommit);
        Assert.False(config.EnableAutoOffsetStore);
        Assert.Equal(AutoOffsetReset.Error, config.AutoOffsetReset); // a lost position is reported, not skipped silently
        Assert.Equal(PartitionAssignmentStrategy.CooperativeSticky, config.PartitionAssignmentStrategy);
        Assert.Equal(3000, config.SessionTimeoutMs);
        Assert.Equal(1000, config.HeartbeatIntervalMs);
    }

    [Fact]
    public void Lag_BehindTheHighWatermark_IsMessagesAndSecondsSinceTheLastMessage()
    {
        var lag = GroupConsumers.Lag(Stock3, 90, high: 100, lastMessageTime: 10_000, nowMs: 12_500);

        Assert.Equal(new PartitionLag("stock-prices", 3, 90, 100, 2.5), lag);
        Assert.Equal(10, lag.LagMessages);
    }

    [Fact]
    public void Lag_CaughtUp_IsZeroSecondsWhateverTheAgeOfTheLastMessage()
    {
        var lag = GroupConsumers.Lag(Stock3, 100, high: 100, lastMessageTime: 10_000, nowMs: 99_000);

        Assert.Equal(0, lag.LagSeconds);
        Assert.Equal(0, lag.LagMessages);
    }

    [Fact]
    public void Lag_BeforeTheFirstMessage_CountsFromOffsetZero()
    {
        var lag = GroupConsumers.Lag(Stock3, Offset.Beginning, high: 5, lastMessageTime: 0, nowMs: 99_000);

        Assert.Equal(new PartitionLag("stock-prices", 3, 0, 5, 0), lag);
    }

    [Theory]
    [InlineData(0, -1, true)] // an empty partition
    [InlineData(10, 10, true)]
    [InlineData(10, 9, false)]
    [InlineData(10, -1, false)] // position not known yet
    public void CaughtUp_ComparesThePositionWithTheHighWatermark(long high, long position, bool caughtUp) =>
        Assert.Equal(caughtUp, GroupConsumers.CaughtUp(high, position));
}
