using System.Runtime.CompilerServices;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Breadboard.Nats;

/// <summary>Where a new durable consumer starts reading the ALERTS stream; an existing one always resumes where it was.</summary>
public abstract record StartFrom
{
    public static StartFrom Beginning { get; } = new FromBeginning();

    public static StartFrom NewOnly { get; } = new FromNew();

    public static StartFrom Time(DateTimeOffset time) => new FromTime(time);

    internal abstract void Apply(ConsumerConfig config);

    private sealed record FromBeginning : StartFrom
    {
        internal override void Apply(ConsumerConfig config) => config.DeliverPolicy = ConsumerConfigDeliverPolicy.All;

        public override string ToString() => "the beginning of the stream";
    }

    private sealed record FromNew : StartFrom
    {
        internal override void Apply(ConsumerConfig config) => config.DeliverPolicy = ConsumerConfigDeliverPolicy.New;

        public override string ToString() => "new alerts";
    }

    private sealed record FromTime(DateTimeOffset At) : StartFrom
    {
        internal override void Apply(ConsumerConfig config)
        {
            config.DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartTime;
            config.OptStartTime = At;
        }

        public override string ToString() => $"alerts since {At:O}";
    }
}

/// <summary>The durable consumers on the ALERTS stream, one per channel (<c>dashboard</c>, <c>email</c>, <c>slack</c>, <c>webhook</c>).</summary>
public static class AlertConsumers
{
    /// <summary>
    /// The channel's durable consumer, created when missing (starting at <paramref name="start"/>); an existing
    /// one keeps its position, and <c>Existed</c> says so.
    /// </summary>
    public static async Task<(INatsJSConsumer Consumer, bool Existed)> EnsureAsync(INatsJSContext js, string channel, StartFrom start, TimeSpan ackWait, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(js);
        ArgumentNullException.ThrowIfNull(start);
        try
        {
            var existing = await js.GetConsumerAsync(NatsAlertOptions.StreamName, channel, cancellationToken);
            if (existing.Info.Config.AckWait == ackWait)
            {
                return (existing, true);
            }

            // The ack wait may change between runs; where the consumer reads from may not (it keeps its position).
            var config = existing.Info.Config with { AckWait = ackWait };
            return (await js.CreateOrUpdateConsumerAsync(NatsAlertOptions.StreamName, config, cancellationToken), true);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            var config = new ConsumerConfig(channel)
            {
                Description = $"Breadboard's {channel} channel",
                FilterSubject = NatsAlertOptions.AlertSubjects,
                AckPolicy = ConsumerConfigAckPolicy.Explicit,
                AckWait = ackWait,
                // Deliveries are limited by the notifier, which dead-letters with the last error; the server must
                // not silently stop redelivering first.
                MaxDeliver = -1,
                MaxAckPending = 10_000,
            };
            start.Apply(config);
            return (await js.CreateOrUpdateConsumerAsync(NatsAlertOptions.StreamName, config, cancellationToken), false);
        }
    }

    /// <summary>
    /// The <c>dashboard</c> channel: alerts for the live dashboard, each acknowledged once handed on. A new
    /// dashboard consumer starts at <paramref name="since"/> (the server's start: history is in the store);
    /// malformed messages are acknowledged and skipped (the notifiers dead-letter them).
    /// </summary>
    public static async IAsyncEnumerable<Alert> DashboardAsync(INatsJSContext js, DateTimeOffset since, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (consumer, _) = await EnsureAsync(js, "dashboard", StartFrom.Time(since), TimeSpan.FromSeconds(30), cancellationToken);
        await foreach (var msg in consumer.ConsumeAsync<byte[]>(cancellationToken: cancellationToken))
        {
            var ok = RecordJson.TryParseAlert(msg.Data ?? [], out var alert, out _);
            await msg.AckAsync(cancellationToken: cancellationToken);
            if (ok)
            {
                yield return alert!;
            }
        }
    }
}
