using System.Text;
using Breadboard.Kafka;

namespace Breadboard.Fuzz.Tests;

/// <summary>
/// Crashes the fuzzers found in code whose project has no unit-test project of its own (Breadboard.Kafka is tested
/// end to end through the CLI); the others are pinned in the test project of their code.
/// </summary>
public sealed class RegressionTests
{
    // fuzz/corpus/sink-records/crash-*: Utf8JsonReader.ValueTextEquals threw InvalidOperationException on a field
    // name it had to unescape while looking for "v", and it escaped TickMessages.TryParse.
    [Theory]
    [InlineData("""{"\ud800":1,"v":1,"symbol":"AAPL","ts":0,"price":1,"volume":1}""")]
    [InlineData("""{"v\udc00":1,"symbol":"AAPL","ts":0,"price":1,"volume":1}""")]
    [InlineData("""{"v":1,"symbol":"AAPL\ud800","ts":0,"price":1,"volume":1}""")]
    public void TickMessages_WithInvalidEscape_RefusesTheMessage(string message)
    {
        using var messages = new TickMessages();

        Assert.False(messages.TryParse(Encoding.UTF8.GetBytes(message), out _, out var error));
        Assert.StartsWith("malformed JSON", error, StringComparison.Ordinal);
    }
}
