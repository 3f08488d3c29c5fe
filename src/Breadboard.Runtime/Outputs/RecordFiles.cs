using Breadboard.Core.Codec;
using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;

namespace Breadboard.Runtime.Outputs;

/// <summary>Where a run writes its records as NDJSON files; null leaves that output out.</summary>
public sealed record RecordPaths(string BarsOut, string AlertsOut, string? LateOut = null, string? RejectsOut = null);

/// <summary>
/// A run's output files, written as the engine emits: bars, alerts, late ticks and rejects (input lines that are
/// not ticks, and ticks the engine refused).
/// </summary>
/// <remarks>
/// Resuming from a checkpoint truncates each file to the length the checkpoint recorded, so what was written after
/// it is written again exactly once. <see cref="FlushToDisk"/> comes before a checkpoint that counts the lengths.
/// </remarks>
public sealed class RecordFiles : IEngineOutput, IDisposable
{
    private readonly FileStream?[] _files;
    private readonly RecordWriter?[] _writers;
    private readonly RecordingOutput _output;

    /// <param name="lengths">The files' lengths from a checkpoint, in <see cref="Lengths"/> order (negative: the file was not written); null starts every file empty.</param>
    /// <exception cref="InvalidDataException">A file is shorter than the checkpoint says; the message names it.</exception>
    public RecordFiles(RecordPaths paths, IReadOnlyList<Aggregate> aggregates, IReadOnlyList<long>? lengths = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        string?[] names = [paths.BarsOut, paths.AlertsOut, paths.LateOut, paths.RejectsOut];
        if (lengths is not null && lengths.Count != names.Length)
        {
            throw new InvalidDataException($"the checkpoint records {lengths.Count} output files, this run writes {names.Length}; delete it to start over");
        }

        _files = new FileStream?[names.Length];
        _writers = new RecordWriter?[names.Length];
        try
        {
            for (var i = 0; i < names.Length; i++)
            {
                if (names[i] is { } name)
                {
                    var length = lengths?[i];
                    _files[i] = Open(name, length is >= 0 ? length : null);
                    _writers[i] = new RecordWriter(_files[i]!, RecordFormat.Ndjson, i == 0 ? aggregates : null, _files[i]!.Length);
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }

        _output = new RecordingOutput(_writers[0]!, _writers[1]!, _writers[2], _writers[3]);
    }

    /// <summary>Each file's length so far (bars, alerts, late, rejects), −1 for one not written: what a checkpoint records.</summary>
    public IReadOnlyList<long> Lengths
    {
        get
        {
            var lengths = new long[_writers.Length];
            for (var i = 0; i < _writers.Length; i++)
            {
                lengths[i] = _writers[i]?.BytesWritten ?? -1;
            }

            return lengths;
        }
    }

    /// <summary>An input line that is not a tick.</summary>
    public void Write(Reject reject) => _writers[3]?.Write(reject);

    /// <summary>Pushes everything written to the disk, before a checkpoint that counts it.</summary>
    public void FlushToDisk()
    {
        for (var i = 0; i < _writers.Length; i++)
        {
            if (_writers[i] is { } writer)
            {
                writer.Flush();
                _files[i]!.Flush(flushToDisk: true);
            }
        }
    }

    public void Flush()
    {
        foreach (var writer in _writers)
        {
            writer?.Flush();
        }
    }

    public void OnBar(Bar bar) => _output.OnBar(bar);

    public void OnAlert(Alert alert) => _output.OnAlert(alert);

    public void OnLate(in Tick tick, long watermark) => _output.OnLate(in tick, watermark);

    public void OnTick(in Tick tick, long position)
    {
    }

    public void OnReject(in Tick tick, long position, string reason) => _output.OnReject(in tick, position, reason);

    private static FileStream Open(string path, long? resumeLength)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, 1);
        if (resumeLength is { } length && stream.Length < length)
        {
            stream.Dispose();
            throw new InvalidDataException($"{path} is shorter than the checkpoint says it was; delete the checkpoint to start over");
        }

        // A fresh run starts from an empty file; a resumed one drops what was written after the checkpoint.
        stream.SetLength(resumeLength ?? 0);
        stream.Seek(0, SeekOrigin.End);
        return stream;
    }

    public void Dispose()
    {
        for (var i = 0; i < _writers.Length; i++)
        {
            _writers[i]?.Dispose();
            _files[i]?.Dispose();
        }
    }
}
