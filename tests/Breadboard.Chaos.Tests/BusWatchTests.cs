using Breadboard.Kafka;
using Breadboard.TestKit.Kafka;
using Confluent.Kafka;

namespace Breadboard.Chaos.Tests;

/// <summary>The run's watch over the tick topics: a file line at or below the highest one already on its partition is a repeat.</summary>
public sealed class BusWatchTests
{
    [Fact]
    public void Watch_LinesAppendedTwice_CountsEachRepeatOnItsPartition()
    {
        using var kafka = KafkaMockCluster.Start(1);
        kafka.CreateTopic(KafkaBusOptions.StockTopic, 2);
        kafka.CreateTopic(KafkaBusOptions.CryptoTopic, 2);
        using var watch = new BusWatch(kafka.BootstrapServers, KafkaBusOptions.TickTopics, 2);
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build())
        {
            var source = "input.ndjson:1"u8.ToArray();
            // A retried batch appended again (lines 2 and 3) on partition 0; partition 1 in order.
            foreach (var (partition, line) in new[] { (0, 1L), (0, 2L), (0, 3L), (0, 2L), (0, 3L), (0, 4L), (1, 5L), (1, 6L) })
            {
                producer.Produce(new TopicPartition(KafkaBusOptions.StockTopic, partition), new Message<string, string> { Key = "S", Value = "{}", Headers = SourceProgress.HeadersFor(source, line) });
            }

            producer.Flush(TimeSpan.FromSeconds(10));
        }

        watch.Finish(TimeSpan.FromSeconds(30));

        Assert.Equal(8, watch.Messages);
        Assert.Equal(2, watch.TotalRepeats);
        Assert.Equal(2, watch.Repeats[new TopicPartition(KafkaBusOptions.StockTopic, 0)]);
    }
}
