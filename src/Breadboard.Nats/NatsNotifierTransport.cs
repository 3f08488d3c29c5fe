using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using Breadboard.Notify.Notifier;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using NATS.Net;

namespace Breadboard.Nats;

/// <summary>
/// A channel's notifier on NATS: its durable consumer on ALERTS, dead letters on <c>alerts.dead.&lt;channel&gt;</c>,
/// its repeat state in the key-value bucket <c>breadboard_notify_&lt;channel&gt;</c>, and the alerts it notified in
/// <c>breadboard_notified_&lt;channel&gt;</c> (one key per alert, kept as long as ALERTS keeps its messages: a
/// redelivery cannot come later than that).
/// </summary>
/// <remarks>Dead-letter headers: <c>Breadboard-Error</c> (the last error), <c>Breadboard-Attempts</c>,
/// <c>Breadboard-Channel</c>, and <c>Breadboard-Notification-Id</c> for a notification (its body is the
/// notification's JSON) or <c>Breadboard-Source-Subject</c> for a malformed message (its body as it arrived).</remarks>
public sealed class NatsNotifierTransport(INatsJSContext js, string channel, StartFrom start, TimeSpan ackWait) : INotifierTransport
{
    private INatsKVStore? _state;
    private INatsKVStore? _notified;

    /// <summary>Set once reading began: whether the channel's durable consumer already existed (so <c>start</c> did not apply).</summary>
    public bool? ConsumerExisted { get; private set; }

    public async IAsyncEnumerable<IAlertDelivery> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            // The client rides out reconnects by itself; a consumer briefly missing while a restarted server
            // recovers its store ends the consumption, so it is set up again and resumed (it is durable).
            IAsyncEnumerator<INatsJSMsg<byte[]>>? messages = null;
            try
            {
                var (consumer, existed) = await AlertConsumers.EnsureAsync(js, channel, start, ackWait, cancellationToken);
                ConsumerExisted ??= existed;
                messages = consumer.ConsumeAsync<byte[]>(opts: new NatsJSConsumeOpts { MaxMsgs = 1_000 }, cancellationToken: cancellationToken).GetAsyncEnumerator(cancellationToken);
            }
            catch (Exception e) when (e is NatsException && !cancellationToken.IsCancellationRequested)
            {
                messages = null;
            }

            if (messages is null)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                continue;
            }

            await using (messages)
            {
                while (true)
                {
                    bool more;
                    try
                    {
                        more = await messages.MoveNextAsync();
                    }
                    catch (Exception e) when (e is NatsException && !cancellationToken.IsCancellationRequested)
                    {
                        break;
                    }

                    if (!more)
                    {
                        break;
                    }

                    yield return new Delivery(messages.Current);
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }

    public async ValueTask DeadLetterAsync(DeadLetter letter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(letter);
        var headers = new NatsHeaders
        {
            ["Breadboard-Error"] = letter.Error,
            ["Breadboard-Attempts"] = letter.Attempts.ToString(CultureInfo.InvariantCulture),
            ["Breadboard-Channel"] = letter.Channel,
        };
        byte[] body;
        string msgId;
        if (letter.Notification is { } notification)
        {
            headers["Breadboard-Notification-Id"] = notification.Id;
            body = notification.ToJson();
            msgId = $"{letter.Channel}:{notification.Id}";
        }
        else
        {
            body = letter.Malformed.ToArray();
            msgId = $"{letter.Channel}:malformed:{ShortHash(body)}";
        }

        var ack = await js.PublishAsync(NatsAlertOptions.DeadSubjectOf(letter.Channel), body, opts: new NatsJSPubOpts { MsgId = msgId }, headers: headers, cancellationToken: cancellationToken);
        ack.EnsureSuccess();
    }

    public async ValueTask<IReadOnlyDictionary<string, long>> LoadStateAsync(CancellationToken cancellationToken)
    {
        var store = await StateAsync(cancellationToken);
        var result = new Dictionary<string, long>();
        try
        {
            await foreach (var key in store.GetKeysAsync(cancellationToken: cancellationToken))
            {
                if (await ReadTsAsync(store, key, cancellationToken) is { } ts)
                {
                    result[Encoding.UTF8.GetString(Convert.FromHexString(key))] = ts;
                }
            }
        }
        catch (NatsKVException)
        {
            // An empty bucket has no keys to list.
        }

        return result;
    }

    public async ValueTask<bool> WasNotifiedAsync(string alertId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alertId);
        var store = await NotifiedAsync(cancellationToken);
        var entry = await store.TryGetEntryAsync<byte[]>(NotifiedKey(alertId), cancellationToken: cancellationToken);
        return entry.Success;
    }

    public async ValueTask SaveStateAsync(IReadOnlyDictionary<string, long> changes, IReadOnlyCollection<string> notifiedIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(changes);
        ArgumentNullException.ThrowIfNull(notifiedIds);
        var notified = await NotifiedAsync(cancellationToken);
        var store = await StateAsync(cancellationToken);
        // Together: a notification waits for one round trip, not one per key.
        await Task.WhenAll(
            notifiedIds.Select(id => notified.PutAsync(NotifiedKey(id), Encoding.UTF8.GetBytes(id), cancellationToken: cancellationToken).AsTask())
                .Concat(changes.Select(c => store.PutAsync(StateKey(c.Key), Encoding.UTF8.GetBytes(c.Value.ToString(CultureInfo.InvariantCulture)), cancellationToken: cancellationToken).AsTask())));
    }

    /// <summary>A saved event time (decimal text), or null when the key is missing or unreadable.</summary>
    private static async Task<long?> ReadTsAsync(INatsKVStore store, string kvKey, CancellationToken cancellationToken)
    {
        var entry = await store.TryGetEntryAsync<byte[]>(kvKey, cancellationToken: cancellationToken);
        return entry.Success && entry.Value.Value is { } value &&
            long.TryParse(Encoding.UTF8.GetString(value), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ts)
            ? ts
            : null;
    }

    /// <summary>KV keys allow only a few characters; symbols and rules may hold others.</summary>
    private static string StateKey(string key) => Convert.ToHexStringLower(Encoding.UTF8.GetBytes(key));

    /// <summary>An alert id holds characters keys may not; a hash of it (128 bits) does not.</summary>
    private static string NotifiedKey(string alertId) => ShortHash(Encoding.UTF8.GetBytes(alertId));

    /// <summary>128 bits of SHA-256 in hex: an id for a message or a key from any bytes.</summary>
    private static string ShortHash(byte[] bytes) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))[..32];

    private string BucketSuffix => new([.. channel.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_')]);

    private async ValueTask<INatsKVStore> NotifiedAsync(CancellationToken cancellationToken)
    {
        if (_notified is null)
        {
            // As long as ALERTS keeps a message, it can be handed out again; no longer.
            var alerts = await js.GetStreamAsync(NatsAlertOptions.StreamName, cancellationToken: cancellationToken);
            var kv = new NatsKVContext((NatsJSContext)js);
            _notified = await kv.CreateOrUpdateStoreAsync(
                new NatsKVConfig($"breadboard_notified_{BucketSuffix}")
                {
                    Description = $"The alerts the {channel} channel notified, by a hash of their id.",
                    Storage = NatsKVStorageType.File,
                    MaxAge = alerts.Info.Config.MaxAge,
                },
                cancellationToken);
        }

        return _notified;
    }

    private async ValueTask<INatsKVStore> StateAsync(CancellationToken cancellationToken)
    {
        if (_state is null)
        {
            var kv = new NatsKVContext((NatsJSContext)js);
            _state = await kv.CreateOrUpdateStoreAsync(
                new NatsKVConfig($"breadboard_notify_{BucketSuffix}")
                {
                    Description = $"Last notified event time per rule and symbol of the {channel} channel.",
                    Storage = NatsKVStorageType.File,
                    MaxAge = TimeSpan.FromDays(7),
                },
                cancellationToken);
        }

        return _state;
    }

    private sealed class Delivery : IAlertDelivery
    {
        private readonly INatsJSMsg<byte[]> _msg;

        public Delivery(INatsJSMsg<byte[]> msg)
        {
            _msg = msg;
            Data = msg.Data ?? [];
            if (RecordJson.TryParseAlert(Data.Span, out var alert, out var error))
            {
                Alert = alert;
            }
            else
            {
                Problem = $"{msg.Subject}: {error}";
            }
        }

        public Alert? Alert { get; }

        public string? Problem { get; }

        public ReadOnlyMemory<byte> Data { get; }

        public int DeliveryCount => (int)Math.Min(int.MaxValue, _msg.Metadata?.NumDelivered ?? 1);

        public ValueTask AckAsync(CancellationToken cancellationToken) => _msg.AckAsync(cancellationToken: cancellationToken);

        public ValueTask KeepAliveAsync(CancellationToken cancellationToken) => _msg.AckProgressAsync(cancellationToken: cancellationToken);
    }
}
