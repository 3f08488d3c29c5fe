using System.Text.Json;

namespace Breadboard.Notify.Policy;

/// <summary>Silences in one JSON file (an array of <see cref="SilenceJson"/> objects): for a single machine without NATS.</summary>
/// <remarks>
/// The file is read again on every call, so a CLI and a server see each other's changes, and replaced atomically (temporary
/// file, then rename), so a reader never sees half a file. Calls within one process are serialised; two processes writing
/// at the same instant can still lose one change. Silences that ended more than seven days ago are dropped on each write.
/// </remarks>
public sealed class FileSilenceStore : ISilenceStore, IDisposable
{
    private static readonly TimeSpan KeepEnded = TimeSpan.FromDays(7);

    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _lock = new(1, 1);

    public FileSilenceStore(string path, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(time);
        Path = System.IO.Path.GetFullPath(path);
        _time = time;
    }

    public string Path { get; }

    public async ValueTask<IReadOnlyList<Silence>> ListAsync(bool includeExpired, CancellationToken cancellationToken = default)
    {
        List<Silence> all;
        await _lock.WaitAsync(cancellationToken);
        try
        {
            all = await ReadAsync(cancellationToken);
        }
        finally
        {
            _lock.Release();
        }

        var now = _time.GetUtcNow();
        return includeExpired ? all : all.FindAll(s => s.EndsAt > now);
    }

    public async ValueTask<Silence> CreateAsync(Silence silence, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(silence);
        if (silence.Validate() is { } error)
        {
            throw new ArgumentException(error);
        }

        await _lock.WaitAsync(cancellationToken);
        try
        {
            var all = await ReadAsync(cancellationToken);
            if (all.Exists(s => s.Id == silence.Id))
            {
                throw new ArgumentException($"silence: id {silence.Id} already exists");
            }

            all.Add(silence);
            await WriteAsync(all, cancellationToken);
            return silence;
        }
        finally
        {
            _lock.Release();
        }
    }

    public async ValueTask<bool> ExpireAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        await _lock.WaitAsync(cancellationToken);
        try
        {
            var all = await ReadAsync(cancellationToken);
            var at = all.FindIndex(s => s.Id == id);
            if (at < 0)
            {
                return false;
            }

            var now = Silence.ToMilliseconds(_time.GetUtcNow());
            var silence = all[at];
            if (silence.EndsAt > now)
            {
                // A silence that has not started yet ends before it starts: StartsAt moves to now as well.
                all[at] = silence with { StartsAt = silence.StartsAt < now ? silence.StartsAt : now, EndsAt = now };
                await WriteAsync(all, cancellationToken);
            }

            return true;
        }
        finally
        {
            _lock.Release();
        }
    }

    public void Dispose() => _lock.Dispose();

    private async Task<List<Silence>> ReadAsync(CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(Path, cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return [];
        }

        if (bytes.Length == 0)
        {
            return [];
        }

        try
        {
            using var document = JsonDocument.Parse(bytes);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw Corrupt("not a JSON array of silences");
            }

            var silences = new List<Silence>(document.RootElement.GetArrayLength());
            var index = 0;
            foreach (var element in document.RootElement.EnumerateArray())
            {
                if (!SilenceJson.TryRead(element, out var silence, out var error))
                {
                    throw Corrupt($"item {index}: {error}");
                }

                silences.Add(silence!);
                index++;
            }

            return silences;
        }
        catch (JsonException e)
        {
            throw Corrupt($"not JSON: {SilenceJson.FirstSentence(e.Message)}");
        }
    }

    private async Task WriteAsync(List<Silence> silences, CancellationToken cancellationToken)
    {
        var cutoff = _time.GetUtcNow() - KeepEnded;
        silences.RemoveAll(s => s.EndsAt < cutoff);

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartArray();
            foreach (var silence in silences)
            {
                SilenceJson.Write(writer, silence);
            }

            writer.WriteEndArray();
        }

        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var temporary = $"{Path}.{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, useAsync: true))
            {
                await file.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), cancellationToken);

                // On disk before the rename, so a power cut leaves the old file or the new one, not an empty one.
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, Path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    private InvalidDataException Corrupt(string detail) => new($"silences file {Path} is unreadable: {detail}");
}
