using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.TestKit.Kafka;
using Breadboard.TestKit.Logging;
using Confluent.Kafka;

namespace Breadboard.Kafka.Tests;

/// <summary>
/// The consumer-group skeleton driven with a role of words: its assignment, guard, revocation and write order
/// called directly (no group), against librdkafka's mock cluster in this process for what it produces.
/// </summary>
public sealed class GroupMemberTests : IDisposable
{
    private static readonly TopicPartition Words0 = new("words", 0);

    private readonly KafkaMockCluster _kafka = KafkaMockCluster.Start(1);
    private readonly Journal _journal = new();
    private readonly RecordingStore _store;
    private readonly RecordingBus _bus;
    private readonly ListLogger _log = new();

    public GroupMemberTests()
    {
        _store = new RecordingStore(_journal);
        _bus = new RecordingBus(_journal);
        _kafka.CreateTopic("words", 2);
        _kafka.CreateTopic("words-out", 1);
        _kafka.CreateTopic(WordRole.DeadLetterTopic, 1);
    }

    public void Dispose() => _kafka.Dispose();

    private GroupMember<List<string>> Member(WordRole role, WordOptions? settings = null) => new(
        new KafkaBusOptions { BootstrapServers = _kafka.BootstrapServers },
        role,
        settings ?? new WordOptions { GroupId = "words", Logger = _log },
        _store,
        _bus,
        new PipelineStats());

    [Fact]
    public void Assign_WithoutCheckpoint_ReadsFromTheBeginning()
    {
        using var member = Member(new WordRole(_journal));

        var positions = member.Assign([Words0]);

        Assert.Equal([new TopicPartitionOffset(Words0, Offset.Beginning)], positions);
        Assert.Contains(_log.Lines, l => l.Contains("words: partitions assigned", StringComparison.Ordinal) && l.Contains("from the beginning", StringComparison.Ordinal));
    }

    [Fact]
    public void Assign_WithCheckpoint_ResumesAtItsPosition()
    {
        _store.Put(new Checkpoint("words:words:0", 7, [], new PipelineCounts(2, 0, 0)));
        using var member = Member(new WordRole(_journal));

        var positions = member.Assign([Words0, new TopicPartition("words", 1)]);

        Assert.Equal(7, positions[0].Offset.Value);
        Assert.Equal(Offset.Beginning, positions[1].Offset);
        Assert.Contains(_log.Lines, l => l.Contains("words [[0]] at 7", StringComparison.Ordinal));
    }

    [Fact]
    public void Take_MessageBehindThePosition_IsSkipped()
    {
        _store.Put(new Checkpoint("words:words:0", 5, []));
        var role = new WordRole(_journal);
        using var member = Member(role);
        member.Assign([Words0]);
        var partition = member.Partitions.Single();

        Assert.False(member.Take(partition, Messages.At(Words0, 4, "again")));
        Assert.True(member.Take(partition, Messages.At(Words0, 5, "new", timestampMs: 1234)));
        Assert.False(member.Take(partition, Messages.At(Words0, 5, "new")));

        Assert.Equal([5L], role.TakenOffsets);
        Assert.Equal(6, partition.NextOffset.Value);
        Assert.Equal(1234, partition.LastMessageTime);
        Assert.Equal(1, member.Pending);
    }

    [Fact]
    public void Write_DeliversToKafkaThenFlushesTheBusThenWritesTheStore()
    {
        using var watermarks = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = _kafka.BootstrapServers, GroupId = "watch" }).Build();
        var role = new WordRole(_journal) { OutputTopic = "words-out" };
        using var member = Member(role);
        member.Assign([Words0]);
        var partition = member.Partitions.Single();
        member.Take(partition, Messages.At(Words0, 0, "alpha"));
        member.Take(partition, Messages.At(Words0, 1, "beta"));
        _bus.OnPublish = alert =>
        {
            // The outputs are in Kafka before the first alert reaches the bus.
            var high = watermarks.QueryWatermarkOffsets(new TopicPartition("words-out", 0), TimeSpan.FromSeconds(10)).High.Value;
            _journal.Add($"bus got {alert.Id} with {high} outputs delivered");
        };

        member.WriteAll();

        Assert.Equal(
            ["produced 2", "bus got alpha with 2 outputs delivered", "bus got beta with 2 outputs delivered", "bus flushed 2 alerts", "store 2 alerts, 1 checkpoints", "stored 1 partitions"],
            _journal.Events);
        var checkpoint = _store["words:words:0"]!;
        Assert.Equal(2, checkpoint.Position);
        Assert.Equal([2], checkpoint.State);
        Assert.False(partition.Dirty);
        Assert.Equal(0, member.Pending);
    }

    [Fact]
    public void Write_WithNothingTaken_WritesNothing()
    {
        using var member = Member(new WordRole(_journal));
        member.Assign([Words0]);

        member.WriteAll();

        Assert.Equal(0, _store.Writes);
        Assert.Empty(_journal.Events);
    }

    [Fact]
    public void Write_CheckpointRejects_AreTotalsOverTheResumedCheckpoint()
    {
        _store.Put(new Checkpoint("words:words:0", 5, [], new PipelineCounts(2, 0, 0)));
        using var member = Member(new WordRole(_journal));
        member.Assign([Words0]);
        var partition = member.Partitions.Single();

        member.Take(partition, Messages.At(Words0, 5, "bad"));
        member.Take(partition, Messages.At(Words0, 6, "good"));
        member.WriteAll();
        Assert.Equal(new PipelineCounts(3, 0, 0), _store["words:words:0"]!.Counts);

        member.Take(partition, Messages.At(Words0, 7, "bad"));
        member.Take(partition, Messages.At(Words0, 8, "good"));
        member.WriteAll();

        Assert.Equal(new PipelineCounts(4, 0, 0), _store["words:words:0"]!.Counts);
        Assert.Equal(9, _store["words:words:0"]!.Position);
        Assert.Equal(2, member.DeadLetters);
    }

    [Fact]
    public void Write_WhenTheAlertBusFails_DoesNotWriteTheStore()
    {
        using var member = Member(new WordRole(_journal));
        member.Assign([Words0]);
        var partition = member.Partitions.Single();
        member.Take(partition, Messages.At(Words0, 0, "alpha"));
        _bus.OnPublish = _ => throw new InvalidOperationException("bus down");

        var e = Assert.Throws<InvalidOperationException>(member.WriteAll);

        Assert.Equal("bus down", e.Message);
        Assert.Equal(0, _store.Writes);
        Assert.True(partition.Dirty);
        Assert.Equal(1, member.Pending);
    }

    [Fact]
    public void Write_WhenTheStoreFails_KeepsWhatWasTakenForTheNextWrite()
    {
        using var member = Member(new WordRole(_journal));
        member.Assign([Words0]);
        var partition = member.Partitions.Single();
        member.Take(partition, Messages.At(Words0, 0, "alpha"));
        _store.OnWrite = _ => throw new IOException("disk full");

        Assert.Throws<IOException>(member.WriteAll);

        Assert.Null(_store["words:words:0"]);
        Assert.DoesNotContain("stored 1 partitions", _journal.Events);
        Assert.True(partition.Dirty);
        Assert.Equal(["alpha"], partition.State);
    }

    [Fact]
    public async Task Write_WhileTheStoreKeepsWaiting_LogsThatItWaitsUntilItIsDone()
    {
        using var member = Member(new WordRole(_journal), new WordOptions { GroupId = "words", Logger = _log, WaitLogInterval = TimeSpan.FromMilliseconds(50) });
        member.Assign([Words0]);
        member.Take(member.Partitions.Single(), Messages.At(Words0, 0, "alpha"));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _store.OnWrite = _ => new ValueTask(gate.Task);

        var writing = Task.Run(member.WriteAll, TestContext.Current.CancellationToken);
        await Poll.UntilAsync(() => _log.Lines.Count(l => l.Contains("words: store write still waiting after", StringComparison.Ordinal)) >= 2, "two 'still waiting' lines");
        Assert.False(writing.IsCompleted);
        gate.SetResult();
        await writing;

        Assert.Contains(_log.Lines, l => l.Contains("words: store write done after", StringComparison.Ordinal));
        Assert.Equal(1, _store.Writes);
    }

    [Fact]
    public async Task Write_WhileKafkaIsDown_LogsUndeliveredMessagesAndWritesOnlyOnceDelivered()
    {
        using var member = Member(new WordRole(_journal) { OutputTopic = "words-out" }, new WordOptions { GroupId = "words", Logger = _log, WaitLogInterval = TimeSpan.FromMilliseconds(200) });
        member.Assign([Words0]);
        member.Take(member.Partitions.Single(), Messages.At(Words0, 0, "alpha"));
        _kafka.BrokerDown(1);

        var writing = Task.Run(member.WriteAll, TestContext.Current.CancellationToken);
        await Poll.UntilAsync(() => _log.Lines.Any(l => l.Contains("words: Kafka delivery still waiting after", StringComparison.Ordinal) && l.Contains("1 messages undelivered", StringComparison.Ordinal)), "a 'still waiting' line");
        Assert.Equal(0, _store.Writes);
        _kafka.BrokerUp(1);
        await writing.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        Assert.Equal(1, _store.Writes);
        Assert.Contains(_log.Lines, l => l.Contains("words: Kafka delivery done after", StringComparison.Ordinal));
    }

    [Fact]
    public void Revoke_HandedOver_WritesThePartitionBeforeItGoes()
    {
        using var member = Member(new WordRole(_journal));
        member.Assign([Words0]);
        member.Take(member.Partitions.Single(), Messages.At(Words0, 0, "alpha"));

        member.Revoke([new TopicPartitionOffset(Words0, Offset.Unset)], flush: true);

        Assert.Equal(1, _store["words:words:0"]!.Position);
        Assert.Empty(member.Partitions);
        Assert.Equal(0, member.Pending);
        Assert.Contains(_log.Lines, l => l.Contains("words: partitions revoked", StringComparison.Ordinal));
    }

    [Fact]
    public void Revoke_Lost_DropsWhatWasTakenWithoutWriting()
    {
        using var member = Member(new WordRole(_journal));
        member.Assign([Words0]);
        var partition = member.Partitions.Single();
        member.Take(partition, Messages.At(Words0, 0, "alpha"));
        member.Take(partition, Messages.At(Words0, 1, "beta"));

        member.Revoke([new TopicPartitionOffset(Words0, Offset.Unset)], flush: false);

        Assert.Equal(0, _store.Writes);
        Assert.Empty(_bus.Published);
        Assert.Empty(partition.State);
        Assert.Empty(member.Partitions);
        Assert.Equal(0, member.Pending);
        Assert.Contains(_log.Lines, l => l.Contains("words: partitions lost", StringComparison.Ordinal) && l.Contains("2 taken since the last write are dropped", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Run_DrainWhenIdle_WritesCommitsTheCheckpointedOffsetsAndStops()
    {
        await ProduceWordsAsync("alpha", "bad", "beta");
        var role = new WordRole(_journal);
        using var member = Member(role, RunSettings("drain"));

        await member.RunAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        Assert.True(member.Drained);
        Assert.Equal(1, member.DeadLetters);
        var checkpoint = _store["words:words:0"]!;
        Assert.Equal(3, checkpoint.Position);
        Assert.Equal(new PipelineCounts(1, 0, 0), checkpoint.Counts);
        Assert.Equal(["alpha", "beta"], _bus.Published.Select(a => a.Id));
        Assert.Contains("end of input words:words:0", _journal.Events);
        Assert.Equal(3, Committed("drain").Value);
        Assert.Contains(_log.Lines, l => l.Contains("words: drained", StringComparison.Ordinal));
        Assert.Contains(_log.Lines, l => l.Contains("words: joining group drain on 127.0.0.1:", StringComparison.Ordinal));
        var lag = Assert.Single(member.Lag, l => l.Partition == 0);
        Assert.Equal(0, lag.LagMessages);
    }

    [Fact]
    public async Task Run_CheckpointNoLongerOnTheBroker_CountsAndLogsTheLostMessages_AndGoesOnFromTheLogStart()
    {
        // librdkafka's mock keeps 5 MiB per partition: 60 messages of 100 KB push the first ones out, as a real
        // broker's retention does to messages a group has not read in time.
        await ProduceWordsAsync([.. Enumerable.Repeat(new string('x', 100_000), 60), "alpha", "beta"]);
        using var probe = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = _kafka.BootstrapServers, GroupId = "probe" }).Build();
        var log = probe.QueryWatermarkOffsets(Words0, TimeSpan.FromSeconds(10));
        Assert.True(log.Low.Value > 2, $"the mock kept everything: {log.Low}..{log.High}");
        _store.Put(new Checkpoint("words:words:0", 1, []));
        var role = new WordRole(_journal);
        using var member = Member(role, RunSettings("behind"));

        await member.RunAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        Assert.Equal(log.Low.Value - 1, member.LostToRetention);
        Assert.Equal(log.Low.Value, role.TakenOffsets[0]);
        Assert.Equal(log.High.Value, _store["words:words:0"]!.Position);
        Assert.Contains(_log.Lines, l => l.Contains($"words [[0]]: offsets 1 to {log.Low.Value} are no longer on the broker", StringComparison.Ordinal) && l.Contains($"{log.Low.Value - 1} messages lost", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Write_WhenStoreFails_DoesNotCommitOffsets()
    {
        await ProduceWordsAsync("alpha", "beta");
        _store.OnWrite = _ => throw new IOException("disk full");
        using var member = Member(new WordRole(_journal), RunSettings("failing"));

        await Assert.ThrowsAsync<IOException>(() => member.RunAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken));

        Assert.Null(_store["words:words:0"]);
        Assert.Equal(Offset.Unset, Committed("failing"));
    }

    private WordOptions RunSettings(string group) => new()
    {
        GroupId = group,
        Logger = _log,
        FlushInterval = TimeSpan.FromMilliseconds(100),
        IdleTimeout = TimeSpan.FromMilliseconds(300),
        DrainWhenIdle = true,
        SessionTimeout = TimeSpan.FromSeconds(3),
    };

    private async Task ProduceWordsAsync(params string[] words)
    {
        using var producer = new ProducerBuilder<string?, byte[]>(new ProducerConfig { BootstrapServers = _kafka.BootstrapServers }).Build();
        foreach (var word in words)
        {
            await producer.ProduceAsync(Words0, new Message<string?, byte[]> { Value = System.Text.Encoding.UTF8.GetBytes(word) }, TestContext.Current.CancellationToken);
        }
    }

    private Offset Committed(string group)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = _kafka.BootstrapServers, GroupId = group }).Build();
        return consumer.Committed([Words0], TimeSpan.FromSeconds(10)).Single().Offset;
    }

    private sealed record WordOptions : ConsumerGroupOptions;
}
