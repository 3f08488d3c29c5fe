using System.Diagnostics;
using System.Globalization;
using Breadboard.TestKit;
using Breadboard.TestKit.Kafka;
using Confluent.Kafka;
using static Breadboard.TestKit.Tests.Kafka.KafkaTestClients;

namespace Breadboard.TestKit.Tests.Kafka;

[Slow]
public sealed class KafkaMockProcessTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CommittedOffsets_NewConsumerInSameGroup_ResumesAfterThem()
    {
        const int Total = 1000;
        const int FirstBatch = 400;
        await using var mock = await KafkaMockProcess.StartAsync(cancellationToken: Ct);
        var topic = TopicName("resume");
        await mock.CreateTopicAsync(topic, partitions: 3, Ct);
        await ProduceAsync(mock.BootstrapServers, topic, Enumerable.Range(0, Total));
        var group = GroupName("resume");

        List<ConsumeResult<string, string>> first;
        using (var consumer = Consumer(mock.BootstrapServers, group))
        {
            consumer.Subscribe(topic);
            first = ConsumeMany(consumer, FirstBatch, TimeSpan.FromSeconds(20));
            Assert.Equal(FirstBatch, first.Count);

            // Commit exactly what was consumed: per partition, the offset after the last message read.
            var offsets = first
                .GroupBy(r => r.TopicPartition)
                .Select(g => new TopicPartitionOffset(g.Key, g.Max(r => r.Offset.Value) + 1))
                .ToList();
            consumer.Commit(offsets);
            consumer.Close();
        }

        var clock = Stopwatch.StartNew();
        using var second = Consumer(mock.BootstrapServers, group);
        second.Subscribe(topic);
        var rest = ConsumeMany(second, Total - FirstBatch, TimeSpan.FromSeconds(20));
        Report($"second consumer of the group got {rest.Count} messages {clock.ElapsedMilliseconds} ms after subscribing");

        Assert.Equal(Total - FirstBatch, rest.Count);
        var firstValues = first.Select(r => r.Message.Value).ToHashSet();
        Assert.DoesNotContain(rest, r => firstValues.Contains(r.Message.Value));
        Assert.Equal(Total, firstValues.Union(rest.Select(r => r.Message.Value)).Count());
        second.Close();
    }

    [Fact]
    public async Task IdempotentProducer_BrokerDownAndUpMidStream_DeliversEveryMessageExactlyOnce()
    {
        const int Total = 5000;
        await using var mock = await KafkaMockProcess.StartAsync(cancellationToken: Ct);
        var topic = TopicName("outage");
        await mock.CreateTopicAsync(topic, partitions: 6, Ct);

        var delivered = 0;
        var failures = new List<string>();
        using (var producer = IdempotentProducer(mock.BootstrapServers))
        {
            void Produce(int from, int to)
            {
                for (var i = from; i < to; i++)
                {
                    var value = i.ToString(CultureInfo.InvariantCulture);
                    producer.Produce(topic, new Message<string, string> { Key = "key-" + (i % 60).ToString(CultureInfo.InvariantCulture), Value = value }, report =>
                    {
                        if (report.Error.IsError)
                        {
                            lock (failures)
                            {
                                failures.Add($"{value}: {report.Error.Reason}");
                            }
                        }
                        else
                        {
                            Interlocked.Increment(ref delivered);
                        }
                    });
                }
            }

            Produce(0, 1500);
            await mock.BrokerDownAsync(1, Ct);
            Produce(1500, 3500);
            await Eventually.UntilAsync(() => Volatile.Read(ref delivered) > 0, TimeSpan.FromSeconds(30), "deliveries to the brokers still up", Ct);

            // With replication factor 1, broker 1 leads partitions 0 and 3: their messages wait for it.
            var beforeUp = Volatile.Read(ref delivered);
            Assert.InRange(beforeUp, 1, 3499);
            await mock.BrokerUpAsync(1, Ct);
            Produce(3500, Total);

            var clock = Stopwatch.StartNew();
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
            Report($"{beforeUp} of 3500 delivered while broker 1 was down; the rest {clock.ElapsedMilliseconds} ms after it came back");
        }

        Assert.Empty(failures);
        Assert.Equal(Total, delivered);

        using var consumer = Consumer(mock.BootstrapServers, GroupName("outage"));
        consumer.Assign(Enumerable.Range(0, 6).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var received = ConsumeMany(consumer, Total, TimeSpan.FromSeconds(20));
        Assert.Equal(Total, received.Count);
        Assert.Equal(Total, received.Select(r => r.Message.Value).Distinct().Count());
        Assert.Equal(Total, RecordsInLog(consumer, topic, 6));
    }

    [Fact]
    public async Task CreateTopicAsync_ThatExists_FailsWithTheHostsError()
    {
        await using var mock = await KafkaMockProcess.StartAsync(brokers: 1, Ct);
        var topic = TopicName("twice");
        await mock.CreateTopicAsync(topic, 1, Ct);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => mock.CreateTopicAsync(topic, 1, Ct));
        Assert.Contains("already exists", e.Message, StringComparison.OrdinalIgnoreCase);

        // The host still answers after an error.
        await mock.BrokerDownAsync(1, Ct);
        await mock.BrokerUpAsync(1, Ct);
        await Assert.ThrowsAsync<InvalidOperationException>(() => mock.BrokerDownAsync(2, Ct));
    }

    [Fact]
    public async Task DisposeAsync_StopsTheHost()
    {
        var mock = await KafkaMockProcess.StartAsync(brokers: 1, Ct);
        using var host = Process.GetProcessById(mock.ProcessId);

        await mock.DisposeAsync();

        await host.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(5), Ct);
        Assert.True(host.HasExited);
    }

    [Fact]
    public async Task Host_WhenStdinCloses_Exits()
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(KafkaMockProcess.DefaultDllPath);
        info.ArgumentList.Add("--topic");
        info.ArgumentList.Add("ticks:2");
        using var host = Process.Start(info)!;
        try
        {
            var line = await host.StandardOutput.ReadLineAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(30), Ct);
            Assert.StartsWith("bootstrap=127.0.0.1:", line, StringComparison.Ordinal);

            host.StandardInput.Close();

            await host.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(5), Ct);
            Assert.Equal(0, host.ExitCode);
        }
        finally
        {
            if (!host.HasExited)
            {
                host.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task StartAsync_MissingDll_ThrowsFileNotFound()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-such-{Guid.NewGuid():N}.dll");

        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => KafkaMockProcess.StartAsync(missing, 1, Ct));

        Assert.Equal(missing, e.FileName);
    }

    [Fact]
    public async Task StartAsync_HostExitsEarly_FailsWithItsStderr()
    {
        // Not an assembly: the dotnet host gives up and says why on stderr.
        var bogus = Path.Combine(Directory.CreateTempSubdirectory("testkit-").FullName, "Bogus.dll");
        await File.WriteAllTextAsync(bogus, "not an assembly", Ct);
        try
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => KafkaMockProcess.StartAsync(bogus, 1, Ct));

            Assert.Contains("exited with code", e.Message, StringComparison.Ordinal);
            Assert.Contains("Bogus.runtimeconfig.json", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(bogus)!, recursive: true);
        }
    }

    private static async Task ProduceAsync(string bootstrapServers, string topic, IEnumerable<int> values)
    {
        using var producer = IdempotentProducer(bootstrapServers);
        var pending = values
            .Select(i => producer.ProduceAsync(
                topic,
                new Message<string, string> { Key = "key-" + (i % 30).ToString(CultureInfo.InvariantCulture), Value = i.ToString(CultureInfo.InvariantCulture) },
                Ct))
            .ToList();
        await Task.WhenAll(pending);
    }
}
