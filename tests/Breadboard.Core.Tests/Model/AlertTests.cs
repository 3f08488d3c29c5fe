using Breadboard.Core.Model;

namespace Breadboard.Core.Tests.Model;

public class AlertTests
{
    [Fact]
    public void MakeId_JoinsRuleSymbolWindowAndStartInEpochMs() =>
        Assert.Equal("price_drop:BTC-USD:5m:1767364200000", Alert.MakeId("price_drop", "BTC-USD", "5m", 1_767_364_200_000));

    [Fact]
    public void MakeId_WithNegativeStart_KeepsTheInvariantMinusSign() =>
        Assert.Equal("r:A:w:-60000", Alert.MakeId("r", "A", "w", -60_000));
}
