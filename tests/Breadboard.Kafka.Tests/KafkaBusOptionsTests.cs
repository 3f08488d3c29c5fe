namespace Breadboard.Kafka.Tests;

public sealed class KafkaBusOptionsTests
{
    [Fact]
    public void TryParse_ServersOnly_TakesTheDefaults()
    {
        Assert.True(KafkaBusOptions.TryParse("kafka://a:9092,b:9093", out var options, out var error), error);

        Assert.Equal(new KafkaBusOptions { BootstrapServers = "a:9092,b:9093", Partitions = 6, Replication = 3, Strict = false }, options);
    }

    [Fact]
    public void TryParse_WithOptions_SetsThem()
    {
        Assert.True(KafkaBusOptions.TryParse("kafka://a:9092?partitions=12&replication=1&strict=true", out var options, out var error), error);

        Assert.Equal(12, options!.Partitions);
        Assert.Equal(1, options.Replication);
        Assert.True(options.Strict);
    }

    [Theory]
    [InlineData("kafka://a:9092?partitions=0")]
    [InlineData("kafka://a:9092?replication=33")]
    [InlineData("kafka://a:9092?strict=yes")]
    [InlineData("kafka://a:9092?linger=5")]
    public void TryParse_BadOption_SaysWhatIsAllowed(string url)
    {
        Assert.False(KafkaBusOptions.TryParse(url, out var options, out var error));

        Assert.Null(options);
        Assert.StartsWith("bad option '", error, StringComparison.Ordinal);
        Assert.EndsWith("allowed: partitions=1..10000, replication=1..32, strict=true|false", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_SecretOption_IsMaskedInTheError()
    {
        Assert.False(KafkaBusOptions.TryParse("kafka://a:9092?password=hunter2", out _, out var error));

        Assert.DoesNotContain("hunter2", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_CredentialsInTheUrl_AreRefusedWithoutShowingThem()
    {
        Assert.False(KafkaBusOptions.TryParse("kafka://user:hunter2@a:9092", out _, out var error));

        Assert.DoesNotContain("hunter2", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(Core.Model.AssetClass.Stock, "stock-prices")]
    [InlineData(Core.Model.AssetClass.Crypto, "crypto-prices")]
    public void TopicOf_AnAssetClass_IsItsTickTopic(Core.Model.AssetClass assetClass, string topic) =>
        Assert.Equal(topic, KafkaBusOptions.TopicOf(assetClass));
}
