using System.Diagnostics;
using System.Globalization;
using Breadboard.TestKit;
using Breadboard.TestKit.Kafka;
using Confluent.Kafka;
using static Breadboard.TestKit.Tests.Kafka.KafkaTestClients;

namespace Breadboard.TestKit.Tests.Kafka;

[Slow]
public sealed class KafkaMockClusterTests
{
    [Fact]
    public void Start_WithThreeBrokers_ListensOnThreeLoopbackPorts()
    {
        using var cluster = KafkaMockCluster.Start(brokers: 3);

        var addresses = cluster.BootstrapServers.Split(',');
        Assert.Equal(3, addresses.Length);
        Assert.All(addresses, a => Assert.Matches(@"^127\.0\.0\.1:\d+$", a));
        Assert.Equal(3, addresses.Distinct().Count());
    }

    [Fact]
    public void IdempotentProducer_TenThousandKeyedMessages_GroupConsumerReadsEachKeyInOrder()
    {
        const int Keys = 50;
        const int PerKey = 200;
        const int Total = Keys * PerKey;
        using var cluster = KafkaMockCluster.Start();
        var topic = TopicName("ordered");
        cluster.CreateTopic(topic, partitions: 6);

        var failures = 0;
        var clock = Stopwatch.StartNew();
        using (var producer = IdempotentProducer(cluster.BootstrapServers))
        {
            for (var seq = 0; seq < PerKey; seq++)
            {
                for (var key = 0; key < Keys; key++)
                {
                    var message = new Message<string, string> { Key = Key(key), Value = seq.ToString(CultureInfo.InvariantCulture) };
                    producer.Produce(topic, message, report =>
                    {
                        if (report.Error.IsError)
                        {
                            Interlocked.Increment(ref failures);
                        }
                    });
                }
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        Report($"produced {Total} messages (acks=all, idempotent) in {clock.ElapsedMilliseconds} ms");
        Assert.Equal(0, failures);

        using var consumer = Consumer(cluster.BootstrapServers, GroupName("ordered"));
        consumer.Subscribe(topic);
        clock.Restart();
        var received = ConsumeMany(consumer, Total, TimeSpan.FromSeconds(30));
        Report($"group consumer read {received.Count} messages in {clock.ElapsedMilliseconds} ms (including the group join)");

        Assert.Equal(Total, received.Count);
        var next = new Dictionary<string, int>();
        foreach (var r in received)
        {
            var expected = next.GetValueOrDefault(r.Message.Key);
            Assert.Equal(expected.ToString(CultureInfo.InvariantCulture), r.Message.Value);
            next[r.Message.Key] = expected + 1;
        }

        Assert.Equal(Keys, next.Count);
        Assert.All(next.Values, n => Assert.Equal(PerKey, n));
        Assert.Equal(6, received.Select(r => r.Partition.Value).Distinct().Count());
        Assert.Equal(Total, RecordsInLog(consumer, topic, 6));
        consumer.Close();
    }

    [Fact]
    public void CreateTopic_ThatExists_Throws()
    {
        using var cluster = KafkaMockCluster.Start(brokers: 1);
        var topic = TopicName("twice");
        cluster.CreateTopic(topic, partitions: 2);

        var e = Assert.Throws<InvalidOperationException>(() => cluster.CreateTopic(topic, partitions: 2));
        Assert.Contains("already exists", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void BrokerDown_UnknownBroker_ThrowsBeforeCallingLibrdkafka()
    {
        using var cluster = KafkaMockCluster.Start(brokers: 2);

        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.BrokerDown(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.BrokerUp(3));
        cluster.BrokerDown(2);
        cluster.BrokerUp(2);
    }

    [Fact]
    public void Dispose_Twice_IsHarmlessAndLaterCallsThrow()
    {
        var cluster = KafkaMockCluster.Start(brokers: 1);
        cluster.Dispose();
        cluster.Dispose();

        Assert.Throws<ObjectDisposedException>(() => cluster.CreateTopic(TopicName("late"), 1));
        Assert.Throws<ObjectDisposedException>(() => cluster.BrokerDown(1));
    }

    private static string Key(int key) => "key-" + key.ToString(CultureInfo.InvariantCulture);
}
