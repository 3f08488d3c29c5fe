using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Confluent.Kafka;

namespace Breadboard.Kafka;

/// <summary>
/// What a consumer-group role (the processor, the sink) adds to <see cref="GroupMember{TState}"/>: what a
/// partition's state is, how a message is taken, what a partition contributes to a write and to its checkpoint.
/// </summary>
/// <remarks>
/// Every method runs on the member's consume thread (rebalance callbacks included), one at a time, so a role needs
/// no locks of its own.
/// </remarks>
/// <typeparam name="TState">What the role keeps per assigned partition.</typeparam>
internal interface IGroupRole<TState>
{
    /// <summary>The role's name in log records ("process", "sink").</summary>
    string Name { get; }

    /// <summary>The first part of the partitions' checkpoint keys, <c>PREFIX:TOPIC:PARTITION</c>.</summary>
    string CheckpointPrefix { get; }

    IReadOnlyList<string> Topics { get; }

    /// <summary>
    /// The role hands alerts to the alert bus itself as it makes them (in <see cref="Take"/> and the idle moves); a
    /// write then only waits for the bus's acknowledgements before the store commits, instead of publishing them.
    /// </summary>
    bool PublishesAlertsAsTaken => false;

    /// <summary>Role-specific consumer settings on top of <see cref="GroupConsumers.Config"/>.</summary>
    void Configure(ConsumerConfig config);

    /// <summary>Role-specific settings of the producer of outputs and dead letters.</summary>
    void Configure(ProducerConfig config);

    /// <summary>
    /// The state of a newly assigned partition, from its checkpoint (null when the store has none: nothing of the
    /// partition is in it yet). The member sets the position and the reject totals from the checkpoint itself.
    /// </summary>
    TState Open(TopicPartition partition, string key, Checkpoint? checkpoint);

    /// <summary>How much the partition holds for the next write, in the unit of the batch size.</summary>
    int Pending(TState state);

    /// <summary>
    /// Takes a message at or past the partition's position (the member has already moved the position past it).
    /// Sets <see cref="GroupPartition{TState}.Dirty"/> when the partition now has something to write; dead letters
    /// go through <paramref name="producer"/>, which counts them as rejects of the partition.
    /// </summary>
    void Take(GroupPartition<TState> partition, ConsumeResult<string?, byte[]> result, GroupProducer producer);

    /// <summary>Whether a partition that has been quiet for the idle timeout would move on if it is also caught up.</summary>
    bool MovesOnWhenIdle(GroupPartition<TState> partition);

    /// <summary>The partition is caught up and has been quiet for <paramref name="quiet"/>.</summary>
    void MoveOnIdle(GroupPartition<TState> partition, TimeSpan quiet);

    /// <summary>All input is consumed (<c>DrainWhenIdle</c>): the last write follows.</summary>
    void EndOfInput(GroupPartition<TState> partition);

    /// <summary>Adds what the partition has for the store to <paramref name="batch"/>; returns what its checkpoint keeps besides position and rejects.</summary>
    CheckpointState Collect(GroupPartition<TState> partition, StoreBatch batch);

    /// <summary>Produces the batch's outputs to Kafka; they are flushed with the dead letters before the alert bus and the store.</summary>
    void Publish(StoreBatch batch, GroupProducer producer);

    /// <summary>The batch is durable in the store: stats and observers. The written partitions still hold what they wrote.</summary>
    void Stored(StoreBatch batch, IReadOnlyList<GroupPartition<TState>> written, IReadOnlyCollection<GroupPartition<TState>> assigned);

    /// <summary>Forgets what the partition took since the last write: it is written, or lost to another member.</summary>
    void Reset(TState state);
}

/// <summary>What a role's checkpoint keeps besides the position and the reject total.</summary>
/// <param name="State">Engine state bytes; empty for a role without state.</param>
/// <param name="Late">Total late ticks of the partition.</param>
/// <param name="Duplicates">Total duplicates of the partition.</param>
internal readonly record struct CheckpointState(byte[] State, long Late, long Duplicates)
{
    public static CheckpointState Stateless => new([], 0, 0);
}

/// <summary>One assigned partition as the member keeps it: where it is, what it owes the next write, and the role's state.</summary>
internal sealed class GroupPartition<TState>(TopicPartition partition, string key)
{
    public TopicPartition Partition { get; } = partition;

    /// <summary>The partition's checkpoint key in the store.</summary>
    public string Key { get; } = key;

    /// <summary>The role's state; set once, when the partition is assigned.</summary>
    public TState State { get; set; } = default!;

    /// <summary>The offset of the next message to take; messages before it were taken already.</summary>
    public Offset NextOffset { get; set; }

    /// <summary>Stopwatch timestamp of the last message, or of the assignment before the first.</summary>
    public long LastMessage { get; set; }

    /// <summary>Kafka timestamp (ms) of the last message, for lag in seconds.</summary>
    public long LastMessageTime { get; set; }

    /// <summary>Has something for the next write (and so a checkpoint to move).</summary>
    public bool Dirty { get; set; }

    /// <summary>Rejects (dead letters) since the last write.</summary>
    public long Rejects { get; set; }

    /// <summary>Rejects up to the last write (or the checkpoint it resumed from): the checkpoint carries totals.</summary>
    public long RejectsBefore { get; set; }
}

/// <summary>What a partition has for the store since the last write.</summary>
internal sealed class PartitionOutput
{
    public List<Tick> Ticks { get; } = [];

    /// <summary>Each tick's offset, in the order of <see cref="Ticks"/>.</summary>
    public List<TickOrigin> Origins { get; } = [];

    public List<Bar> Bars { get; } = [];

    public List<Alert> Alerts { get; } = [];

    public void AddTo(StoreBatch batch)
    {
        batch.Ticks.AddRange(Ticks);
        batch.TickOrigins.AddRange(Origins);
        batch.Bars.AddRange(Bars);
        batch.Alerts.AddRange(Alerts);
    }

    public void Clear()
    {
        Ticks.Clear();
        Origins.Clear();
        Bars.Clear();
        Alerts.Clear();
    }
}
