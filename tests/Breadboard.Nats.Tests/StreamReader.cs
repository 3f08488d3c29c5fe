using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;

namespace Breadboard.Nats.Tests;

/// <summary>Reads a stream back with an independent plain client, for assertions.</summary>
internal static class StreamReader
{
    public sealed record Message(string Subject, string? MsgId, Alert? Alert, NatsHeaders? Headers, byte[] Data);

    public static async Task<List<Message>> ReadAllAsync(string url, string stream, CancellationToken cancellationToken)
    {
        await using var connection = new NatsConnection(NatsOpts.Default with { Url = url });
        var js = connection.CreateJetStreamContext();
        var info = await js.GetStreamAsync(stream, cancellationToken: cancellationToken);
        var total = (long)info.Info.State.Messages;
        var result = new List<Message>();
        if (total == 0)
        {
            return result;
        }

        var consumer = await js.CreateOrderedConsumerAsync(stream, new NatsJSOrderedConsumerOpts { DeliverPolicy = ConsumerConfigDeliverPolicy.All }, cancellationToken);
        await foreach (var msg in consumer.ConsumeAsync<byte[]>(cancellationToken: cancellationToken))
        {
            var data = msg.Data ?? [];
            var alert = RecordJson.TryParseAlert(data, out var parsed, out _) ? parsed : null;
            string? id = null;
            if (msg.Headers is { } headers && headers.TryGetValue("Nats-Msg-Id", out var values))
            {
                id = values.ToString();
            }

            result.Add(new Message(msg.Subject, id, alert, msg.Headers, data));
            if (result.Count >= total)
            {
                break;
            }
        }

        return result;
    }
}
