using System.Text;
using Breadboard.Core.Model;

namespace Breadboard.Kafka.Tests;

public sealed class TickMessagesTests
{
    [Fact]
    public void Serialize_ThenTryParse_GivesTheSameTick()
    {
        using var messages = new TickMessages();
        var tick = new Tick("BTC-USD", 1_700_000_000_123, 43_210.5, 0.25, TradeId.FromNumber(99), "coinbase", AssetClass.Crypto);

        var value = messages.Serialize(tick).ToArray();

        Assert.StartsWith("{\"v\":1,", Encoding.UTF8.GetString(value), StringComparison.Ordinal);
        Assert.True(messages.TryParse(value, out var parsed, out var error), error);
        Assert.Equal(tick, parsed);
    }

    [Fact]
    public void TryParse_WithoutVersion_SaysTheVersionIsMissing()
    {
        using var messages = new TickMessages();

        Assert.False(messages.TryParse("""{"symbol":"AAPL","ts":0,"price":1,"volume":1}"""u8, out _, out var error));
        Assert.Equal("no schema version: expected \"v\":1", error);
    }

    [Fact]
    public void TryParse_WithAnotherVersion_RefusesIt()
    {
        using var messages = new TickMessages();

        Assert.False(messages.TryParse("""{"v":2,"symbol":"AAPL","ts":0,"price":1,"volume":1}"""u8, out _, out var error));
        Assert.Equal("schema version 2 is not supported (this build reads 1)", error);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"v\":1,")]
    public void TryParse_MalformedJson_GivesTheParsersReason(string message)
    {
        using var messages = new TickMessages();

        Assert.False(messages.TryParse(Encoding.UTF8.GetBytes(message), out _, out var error));
        Assert.StartsWith("malformed JSON", error, StringComparison.Ordinal);
    }

    // fuzz/corpus/sink-records/crash-*: Utf8JsonReader.ValueTextEquals threw InvalidOperationException on a field
    // name it had to unescape while looking for "v", and it escaped TickMessages.TryParse.
    [Theory]
    [InlineData("""{"\ud800":1,"v":1,"symbol":"AAPL","ts":0,"price":1,"volume":1}""")]
    [InlineData("""{"v\udc00":1,"symbol":"AAPL","ts":0,"price":1,"volume":1}""")]
    [InlineData("""{"v":1,"symbol":"AAPL\ud800","ts":0,"price":1,"volume":1}""")]
    public void TryParse_WithInvalidEscape_RefusesTheMessage(string message)
    {
        using var messages = new TickMessages();

        Assert.False(messages.TryParse(Encoding.UTF8.GetBytes(message), out _, out var error));
        Assert.StartsWith("malformed JSON", error, StringComparison.Ordinal);
    }
}
