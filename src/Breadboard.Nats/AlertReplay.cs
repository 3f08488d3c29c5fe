using System.Runtime.CompilerServices;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace Breadboard.Nats;

/// <summary>Reads the ALERTS stream back from a time, for <c>breadboard alerts replay</c>; it ends at the stream's current end.</summary>
public static class AlertReplay
{
    /// <summary>One stored message: its subject, stream time and body (an alert's JSON, unless something else was published).</summary>
    public sealed record StoredAlert(string Subject, ulong Sequence, DateTimeOffset StoredAt, byte[] Data);

    public static async IAsyncEnumerable<StoredAlert> ReadAsync(INatsJSContext js, DateTimeOffset since, string subject = NatsAlertOptions.AlertSubjects, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(js);
        var consumer = await js.CreateOrderedConsumerAsync(
            NatsAlertOptions.StreamName,
            new NatsJSOrderedConsumerOpts
            {
                DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartTime,
                OptStartTime = since,
                FilterSubjects = [subject],
            },
            cancellationToken);
        while (true)
        {
            var any = false;
            await foreach (var msg in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 1_000 }, cancellationToken: cancellationToken))
            {
                any = true;
                // Servers before 2.10 ignore a list of filter subjects, so the filter is applied here as well.
                if (SubjectMatches(subject, msg.Subject))
                {
                    yield return new StoredAlert(msg.Subject, msg.Metadata?.Sequence.Stream ?? 0, msg.Metadata?.Timestamp ?? default, msg.Data ?? []);
                }
            }

            if (!any)
            {
                yield break;
            }
        }
    }

    /// <summary>NATS subject matching: <c>*</c> is one token, a final <c>&gt;</c> one or more.</summary>
    public static bool SubjectMatches(string filter, string subject)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(subject);
        var f = filter.Split('.');
        var s = subject.Split('.');
        for (var i = 0; i < f.Length; i++)
        {
            if (f[i] == ">")
            {
                return i == f.Length - 1 && s.Length > i;
            }

            if (i >= s.Length || (f[i] != "*" && f[i] != s[i]))
            {
                return false;
            }
        }

        return f.Length == s.Length;
    }
}
