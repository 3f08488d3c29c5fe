using Breadboard.Notify.Policy;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;

namespace Breadboard.Nats;

/// <summary>
/// Silences in the NATS key-value bucket <c>breadboard_silences</c> (one key per silence id, the value its JSON):
/// shared by the API, the CLI and every notifier process.
/// </summary>
public sealed class NatsSilenceStore(INatsJSContext js, TimeProvider time) : ISilenceStore
{
    public const string Bucket = "breadboard_silences";

    private INatsKVStore? _store;

    public async ValueTask<IReadOnlyList<Silence>> ListAsync(bool includeExpired, CancellationToken cancellationToken = default)
    {
        var store = await StoreAsync(cancellationToken);
        var now = time.GetUtcNow();
        var result = new List<Silence>();
        try
        {
            await foreach (var key in store.GetKeysAsync(cancellationToken: cancellationToken))
            {
                var entry = await store.TryGetEntryAsync<byte[]>(key, cancellationToken: cancellationToken);
                if (entry.Success && entry.Value.Value is { } value && SilenceJson.TryParse(value, out var silence, out _) &&
                    (includeExpired || silence!.EndsAt > now))
                {
                    result.Add(silence!);
                }
            }
        }
        catch (NatsKVException)
        {
            // An empty bucket has no keys to list.
        }

        return [.. result.OrderBy(s => s.StartsAt).ThenBy(s => s.Id, StringComparer.Ordinal)];
    }

    public async ValueTask<Silence> CreateAsync(Silence silence, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(silence);
        if (silence.Validate() is { } error)
        {
            throw new ArgumentException(error);
        }

        if (!IsKey(silence.Id))
        {
            throw new ArgumentException($"silence: id '{silence.Id}' may hold only letters, digits, '-' and '_'");
        }

        var store = await StoreAsync(cancellationToken);
        var created = await store.TryCreateAsync(silence.Id, SilenceJson.Serialize(silence), cancellationToken: cancellationToken);
        return created.Success ? silence : throw new ArgumentException($"silence: id {silence.Id} already exists");
    }

    public async ValueTask<bool> ExpireAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (!IsKey(id))
        {
            return false;
        }

        var store = await StoreAsync(cancellationToken);
        while (true)
        {
            var entry = await store.TryGetEntryAsync<byte[]>(id, cancellationToken: cancellationToken);
            if (!entry.Success || entry.Value.Value is not { } value || !SilenceJson.TryParse(value, out var silence, out _))
            {
                return false;
            }

            var now = time.GetUtcNow();
            if (silence!.EndsAt <= now)
            {
                return true;
            }

            var ended = silence with { EndsAt = DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds()), StartsAt = silence.StartsAt > now ? DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds()) : silence.StartsAt };
            // Compare-and-set on the revision: a concurrent change makes us read again rather than overwrite it.
            var updated = await store.TryUpdateAsync(id, SilenceJson.Serialize(ended), entry.Value.Revision, cancellationToken: cancellationToken);
            if (updated.Success)
            {
                return true;
            }
        }
    }

    private static bool IsKey(string id) => id.Length > 0 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private async ValueTask<INatsKVStore> StoreAsync(CancellationToken cancellationToken)
    {
        if (_store is null)
        {
            var kv = new NatsKVContext((NatsJSContext)js);
            _store = await kv.CreateOrUpdateStoreAsync(new NatsKVConfig(Bucket) { Description = "Breadboard's notification silences.", Storage = NatsKVStorageType.File }, cancellationToken);
        }

        return _store;
    }
}
