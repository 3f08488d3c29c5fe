using System.Text;
using Breadboard.Core.Model;
using Breadboard.TestKit.Kafka;
using Confluent.Kafka;

namespace Breadboard.Kafka.Tests;

/// <summary>What a restarted <c>ingest</c> reads back of a file it was publishing.</summary>
public sealed class SourceProgressTests : IDisposable
{
    private readonly KafkaMockCluster _kafka = KafkaMockCluster.Start(1);

    public SourceProgressTests()
    {
        _kafka.CreateTopic(KafkaBusOptions.StockTopic, 6);
        _kafka.CreateTopic(KafkaBusOptions.CryptoTopic, 3);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private KafkaBusOptions Bus => new() { BootstrapServers = _kafka.BootstrapServers };

    public void Dispose() => _kafka.Dispose();

    [Fact]
    public void PartitionOf_EachKey_IsThePartitionTheProducerPutsItOn()
    {
        var random = new Random(5);
        var symbols = Enumerable.Range(0, 300).Select(i => $"{(char)('A' + random.Next(26))}{i}{(i % 7 == 0 ? "-USD" : "")}é").ToList();
        using (var producer = new TickProducer(Bus))
        {
            foreach (var symbol in symbols)
            {
                producer.Produce(Tick(symbol, AssetClass.Stock, 1));
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        var placed = ReadAll(KafkaBusOptions.StockTopic, 6).Select(m => (m.Key, m.Partition)).ToList();
        Assert.Equal(symbols.Count, placed.Count);
        Assert.All(placed, m => Assert.Equal(m.Partition, SourceProgress.PartitionOf(m.Key, 6)));
        Assert.True(placed.Select(m => m.Partition).Distinct().Count() == 6, "300 keys should land on every partition");
    }

    [Fact]
    public async Task ReadAsync_FileHalfPublished_SaysPublishedUpToEachPartitionsLastLinePastOtherProducers()
    {
        var source = Encoding.UTF8.GetBytes("ticks.ndjson:1234");
        var ticks = Enumerable.Range(1, 2_000).Select(line => (Line: (long)line, Tick: Tick($"S{line % 40}", line % 5 == 0 ? AssetClass.Crypto : AssetClass.Stock, line))).ToList();
        using (var producer = new TickProducer(Bus))
        {
            foreach (var (line, tick) in ticks.Take(1_200))
            {
                producer.Produce(tick, SourceProgress.HeadersFor(source, line));
            }

            // Another source and a feed without headers, after: read past, not mistaken for the file.
            for (var i = 0; i < 500; i++)
            {
                producer.Produce(Tick($"S{i % 40}", AssetClass.Stock, 9_000 + i), SourceProgress.HeadersFor("other.ndjson:1"u8.ToArray(), 5_000 + i));
                producer.Produce(Tick($"S{i % 40}", AssetClass.Crypto, 9_000 + i));
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        var progress = await SourceProgress.ReadAsync(Bus, "ticks.ndjson:1234", Ct);

        Assert.Equal(1_200, progress.HighestLine);
        Assert.All(ticks.Take(1_200), t => Assert.True(progress.Published(t.Tick, t.Line), $"line {t.Line}"));
        Assert.All(ticks.Skip(1_200), t => Assert.False(progress.Published(t.Tick, t.Line), $"line {t.Line}"));
        Assert.Equal(0, (await SourceProgress.ReadAsync(Bus, "never.ndjson:1", Ct)).HighestLine);
    }

    [Fact]
    public async Task ReadAsync_ABrokerDownWhenItStarts_WaitsForItAndReadsBack()
    {
        // What failed a clean-clone run: `ingest` restarted while one of three brokers was down, and the read-back
        // of the partitions it leads failed at once ("Local: Unknown partition").
        using var kafka = KafkaMockCluster.Start(3);
        kafka.CreateTopic(KafkaBusOptions.StockTopic, 6);
        kafka.CreateTopic(KafkaBusOptions.CryptoTopic, 3);
        var bus = new KafkaBusOptions { BootstrapServers = kafka.BootstrapServers };
        var source = Encoding.UTF8.GetBytes("ticks.ndjson:42");
        using (var producer = new TickProducer(bus))
        {
            for (var line = 1; line <= 300; line++)
            {
                producer.Produce(Tick($"S{line % 20}", AssetClass.Stock, line), SourceProgress.HeadersFor(source, line));
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        kafka.BrokerDown(1);
        var reading = SourceProgress.ReadAsync(bus, "ticks.ndjson:42", Ct);
        await Task.Delay(TimeSpan.FromSeconds(3), Ct);
        kafka.BrokerUp(1);

        Assert.Equal(300, (await reading.WaitAsync(TimeSpan.FromSeconds(60), Ct)).HighestLine);
    }

    private static Tick Tick(string symbol, AssetClass assetClass, long n) =>
        new(symbol, 1_700_000_000_000 + n, 100, 1, TradeId.FromNumber(n), "test", assetClass);

    private List<(string Key, int Partition)> ReadAll(string topic, int partitions)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig { BootstrapServers = _kafka.BootstrapServers, GroupId = $"t-{Guid.NewGuid():N}" }).Build();
        var result = new List<(string, int)>();
        for (var p = 0; p < partitions; p++)
        {
            var where = new TopicPartition(topic, p);
            var high = consumer.QueryWatermarkOffsets(where, TimeSpan.FromSeconds(10)).High.Value;
            consumer.Assign(new TopicPartitionOffset(where, Offset.Beginning));
            for (var i = 0L; i < high; i++)
            {
                var message = consumer.Consume(TimeSpan.FromSeconds(10)) ?? throw new TimeoutException($"{where}: nothing at {i}");
                result.Add((message.Message.Key, p));
            }
        }

        return result;
    }
}
