using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Breadboard.Core.Codec;
using Breadboard.Core.Seams;
using Confluent.Kafka;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;

namespace Breadboard.Chaos;

/// <summary>One verdict of the run: what was checked, whether it held, and what was found.</summary>
internal sealed record Check(string Name, bool Held, string Detail)
{
    public override string ToString() => $"{(Held ? "ok  " : "FAIL")} {Name}: {Detail}";
}

/// <summary>The end state of the face against the reference, a replay of the same input.</summary>
internal static class Checks
{
    /// <summary>Two record files hold the same lines, whatever their order.</summary>
    public static Check SameLines(string name, string reference, string actual)
    {
        var expected = File.ReadAllLines(reference).Order(StringComparer.Ordinal).ToList();
        var got = File.ReadAllLines(actual).Order(StringComparer.Ordinal).ToList();
        if (expected.SequenceEqual(got))
        {
            return new Check(name, expected.Count > 0, $"{expected.Count:N0} identical to the reference{(expected.Count == 0 ? ", but there are none: the input fired nothing" : "")}");
        }

        var missing = expected.Except(got).ToList();
        var extra = got.Except(expected).ToList();
        return new Check(name, false, $"reference {expected.Count:N0}, stored {got.Count:N0}: {missing.Count:N0} missing (first: {missing.FirstOrDefault() ?? "-"}), {extra.Count:N0} not in the reference (first: {extra.FirstOrDefault() ?? "-"})");
    }

    /// <summary>How many ticks a store holds, and a fingerprint of them that does not depend on their order.</summary>
    /// <remarks>Read a minute of event time at a time: the ticks of a 60-minute soak (36M) sorted in one query
    /// passed ClickHouse's 9.3 GiB limit for a query.</remarks>
    public static async Task<(long Count, ulong Fingerprint)> TicksAsync(IMarketStore store, CancellationToken cancellationToken)
    {
        const long Slice = 60_000;
        long count = 0;
        ulong fingerprint = 0;
        var span = await store.MeasureTicksAsync(new TickQuery(), cancellationToken);
        for (var from = span.FirstTs; span.Count > 0 && from <= span.LastTs; from += Slice)
        {
            await foreach (var tick in store.QueryTicksAsync(new TickQuery(From: from, To: from + Slice), cancellationToken))
            {
                count++;
                var text = string.Create(CultureInfo.InvariantCulture, $"{tick.Symbol}|{tick.Ts}|{tick.Price:R}|{tick.Volume:R}|{tick.TradeId}");
                fingerprint += XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(text));
            }
        }

        return (count, fingerprint);
    }

    /// <summary>How many messages a stream holds (ALERTS_DEAD: notifications a channel gave up on).</summary>
    public static async Task<long> StreamCountAsync(string natsUrl, string stream, CancellationToken cancellationToken)
    {
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = natsUrl });
        var js = connection.CreateJetStreamContext();
        return (long)(await js.GetStreamAsync(stream, cancellationToken: cancellationToken)).Info.State.Messages;
    }

    /// <summary>The alert ids on the ALERTS stream, read back with a plain ordered consumer.</summary>
    public static async Task<List<string>> StreamAlertIdsAsync(string natsUrl, CancellationToken cancellationToken)
    {
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = natsUrl });
        var js = connection.CreateJetStreamContext();
        var stream = await js.GetStreamAsync("ALERTS", cancellationToken: cancellationToken);
        var total = (long)stream.Info.State.Messages;
        var ids = new List<string>();
        if (total == 0)
        {
            return ids;
        }

        var consumer = await js.CreateOrderedConsumerAsync("ALERTS", new NatsJSOrderedConsumerOpts { DeliverPolicy = ConsumerConfigDeliverPolicy.All }, cancellationToken);
        await foreach (var message in consumer.ConsumeAsync<byte[]>(cancellationToken: cancellationToken))
        {
            ids.Add(RecordJson.TryParseAlert(message.Data ?? [], out var alert, out var error) ? alert!.Id : $"(unreadable: {error})");
            if (ids.Count >= total)
            {
                break;
            }
        }

        return ids;
    }

    /// <summary>Each reference alert once on the stream, and nothing else.</summary>
    public static Check OncePerAlert(string name, IReadOnlyCollection<string> reference, IReadOnlyList<string> got)
    {
        var counts = got.GroupBy(id => id).ToDictionary(g => g.Key, g => g.Count());
        var missing = reference.Where(id => !counts.ContainsKey(id)).ToList();
        var repeated = counts.Where(c => c.Value > 1).ToList();
        var extra = counts.Keys.Where(id => !reference.Contains(id)).ToList();
        var held = missing.Count == 0 && repeated.Count == 0 && extra.Count == 0 && reference.Count > 0;
        return new Check(name, held, $"{got.Count:N0} messages for {reference.Count:N0} reference alerts: {missing.Count} missing{First(missing)}, {repeated.Count} more than once{First(repeated.Select(r => $"{r.Key} ×{r.Value}"))}, {extra.Count} not in the reference{First(extra)}");
    }

    /// <summary>
    /// Every reference alert reached the webhook; each delivery id was accepted once, except where a notifier died
    /// between the receiver's answer and its acknowledgement to NATS (at-least-once there: the receiver drops the
    /// repeat by its Delivery-Id), which the detail counts.
    /// </summary>
    public static Check Webhook(IReadOnlyCollection<string> reference, IReadOnlyList<WebhookSink.Delivery> accepted, int badSignatures, int notifierKills, long deadLetters = 0)
    {
        var delivered = accepted.SelectMany(d => d.AlertIds).ToHashSet();
        var missing = reference.Where(id => !delivered.Contains(id)).ToList();
        var extra = delivered.Where(id => !reference.Contains(id)).ToList();
        var repeats = accepted.GroupBy(d => d.Id).Where(g => g.Count() > 1).ToList();
        var alertsTwice = accepted.SelectMany(d => d.AlertIds.Select(a => (Alert: a, Delivery: d.Id))).Distinct().GroupBy(x => x.Alert).Count(g => g.Count() > 1);
        var held = missing.Count == 0 && extra.Count == 0 && badSignatures == 0 && alertsTwice == 0 && repeats.Count <= notifierKills && reference.Count > 0;
        return new Check(
            "webhook",
            held,
            $"{accepted.Count:N0} deliveries accepted carrying {delivered.Count:N0} alerts: {missing.Count} reference alerts missing{First(missing)}, {extra.Count} not in the reference{First(extra)}, "
            + $"{repeats.Count} delivery ids accepted more than once (allowed: at most one per notifier kill, {notifierKills}), {alertsTwice} alerts in two different deliveries, {badSignatures} bad signatures, {deadLetters} notifications given up (ALERTS_DEAD)");
    }

    /// <summary>Lines of the input file that <c>ingest</c> sent to <c>ticks-dlq</c> (those with its source header).</summary>
    public static long DeadLetteredLines(string bootstrap)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new Confluent.Kafka.ConsumerConfig { BootstrapServers = bootstrap, GroupId = $"chaos-{Guid.NewGuid():N}", EnableAutoCommit = false }).Build();
        var where = new TopicPartition("ticks-dlq", 0);
        var high = consumer.QueryWatermarkOffsets(where, TimeSpan.FromSeconds(10)).High.Value;
        consumer.Assign(new TopicPartitionOffset(where, Offset.Beginning));
        long lines = 0;
        for (var read = 0L; read < high; read++)
        {
            var message = consumer.Consume(TimeSpan.FromSeconds(10)) ?? throw new TimeoutException($"ticks-dlq: nothing at offset {read} of {high}");
            if (message.Message.Headers.TryGetLastBytes(Breadboard.Kafka.SourceProgress.SourceHeader, out _))
            {
                lines++;
            }

            read = message.Offset.Value;
        }

        return lines;
    }

    private static string First(IEnumerable<string> items) => items.FirstOrDefault() is { } first ? $" (first: {first})" : "";
}
