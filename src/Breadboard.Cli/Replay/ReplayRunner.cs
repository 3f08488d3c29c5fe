using System.Diagnostics;
using System.IO.Compression;
using Breadboard.Core.Codec;
using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;

namespace Breadboard.Cli.Replay;

/// <summary>What to replay and where the results go.</summary>
internal sealed record ReplayOptions
{
    public required string Input { get; init; }

    public TickFormat? Format { get; init; }

    public required PipelineDefinition Pipeline { get; init; }

    public required string BarsOut { get; init; }

    public required string AlertsOut { get; init; }

    public string? LateOut { get; init; }

    public string? RejectsOut { get; init; }

    /// <summary>Where to keep the checkpoint; with one, a killed run started again resumes where it left off.</summary>
    public string? Checkpoint { get; init; }

    /// <summary>Input ticks between checkpoints.</summary>
    public long CheckpointEvery { get; init; } = 500_000;

    /// <summary>Replay at this multiple of event time; null is as fast as possible.</summary>
    public double? Speed { get; init; }

    public IMarketStore? Store { get; init; }

    public IAlertBus? AlertBus { get; init; }

    /// <summary>Ticks per store write.</summary>
    public int StoreBatchSize { get; init; } = 50_000;

    /// <summary>Longest a tick waits for its store write in a paced replay (<see cref="Speed"/>); an unpaced
    /// replay writes by size alone.</summary>
    public TimeSpan StoreFlushInterval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>Counts of one replay, for the summary line and the benchmark.</summary>
internal sealed record ReplayResult(long Lines, long Ticks, long Bars, long Alerts, long Late, long Duplicates, long Rejects, bool Resumed, TimeSpan Elapsed);

/// <summary>
/// Offline replay: file → engine → NDJSON outputs (and the store and alert bus when configured), deterministic:
/// the same input and pipeline always give byte-identical outputs, interrupted or not.
/// </summary>
/// <remarks>
/// A checkpoint records the input position, the output files' lengths and the engine state, written after the
/// outputs are flushed to disk and replaced atomically. Resuming truncates the outputs to those lengths, so
/// anything written after the checkpoint is written again exactly once. The checkpoint is deleted when the run
/// completes.
/// </remarks>
internal sealed class ReplayRunner(ReplayOptions options)
{
    private const int CheckpointMagic = 0x52504242; // "BBPR"

    /// <summary>Called now and then with (bytes read, bytes total) for a progress bar.</summary>
    public Action<long, long>? Progress { get; init; }

    public async Task<ReplayResult> RunAsync(CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var format = options.Format ?? TickStreamReader.FormatOf(options.Input);
        var resume = options.Checkpoint is not null && File.Exists(options.Checkpoint) ? ReadCheckpoint(options.Checkpoint) : null;
        var gzip = options.Input.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        if (gzip && resume is not null)
        {
            throw new InvalidDataException($"{options.Checkpoint}: cannot resume inside a gzip input; delete the checkpoint to start over");
        }

        using var file = new FileStream(options.Input, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        var totalBytes = file.Length;
        if (resume is not null && resume.InputPosition > totalBytes)
        {
            throw new InvalidDataException($"{options.Checkpoint}: the input is shorter than the checkpoint's position; delete the checkpoint to start over");
        }

        using Stream input = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = NameInputIn(() => new TickStreamReader(input, format, resume?.InputPosition ?? 0, resume?.Line ?? 0));

        using var barsFile = OpenOutput(options.BarsOut, resume?.BarsLength);
        using var alertsFile = OpenOutput(options.AlertsOut, resume?.AlertsLength);
        using var lateFile = options.LateOut is null ? null : OpenOutput(options.LateOut, resume?.LateLength);
        using var rejectsFile = options.RejectsOut is null ? null : OpenOutput(options.RejectsOut, resume?.RejectsLength);
        using var bars = new RecordWriter(barsFile, RecordFormat.Ndjson, options.Pipeline.Aggregates, barsFile.Length);
        using var alerts = new RecordWriter(alertsFile, RecordFormat.Ndjson, startLength: alertsFile.Length);
        using var late = lateFile is null ? null : new RecordWriter(lateFile, startLength: lateFile.Length);
        using var rejects = rejectsFile is null ? null : new RecordWriter(rejectsFile, startLength: rejectsFile.Length);

        var sink = options.Store is null && options.AlertBus is null ? null : new StoreSink(options.Store, options.AlertBus, options.StoreBatchSize);
        IEngineOutput output = new RecordingOutput(bars, alerts, late, rejects);
        if (sink is not null)
        {
            output = new FanOut(output, sink);
        }

        WindowEngine engine;
        if (resume is not null)
        {
            using var state = new MemoryStream(resume.EngineState);
            engine = WindowEngine.Restore(options.Pipeline, output, state);
        }
        else
        {
            engine = new WindowEngine(options.Pipeline, output);
        }

        var rejectCount = resume?.Rejects ?? 0;
        var pacer = options.Speed is { } speed ? new Pacer(speed) : null;
        var flushEvery = (long)(options.StoreFlushInterval.TotalSeconds * Stopwatch.Frequency);
        var flushDue = Stopwatch.GetTimestamp() + flushEvery;
        var sinceCheckpoint = 0L;
        var sinceProgress = 0;

        while (true)
        {
            ReadStatus status;
            Tick tick;
            try
            {
                status = reader.Read(out tick);
            }
            catch (InvalidDataException e)
            {
                // A CSV without a usable header: the one error that stops a replay, since no line can be read.
                throw new InvalidDataException($"{options.Input}: {e.Message}", e);
            }

            if (status == ReadStatus.End)
            {
                break;
            }

            if (status == ReadStatus.Rejected)
            {
                rejectCount++;
                rejects?.Write(reader.LastReject!);
                sink?.Reject();
            }
            else
            {
                if (pacer is not null)
                {
                    await pacer.WaitAsync(tick.Ts, cancellationToken);
                }

                engine.Process(in tick, reader.Line);
            }

            if (sink is not null && (sink.IsFull || (pacer is not null && Stopwatch.GetTimestamp() >= flushDue)))
            {
                await sink.FlushAsync(engine, cancellationToken);
                flushDue = Stopwatch.GetTimestamp() + flushEvery;
            }

            if (++sinceProgress == 65_536)
            {
                sinceProgress = 0;
                Progress?.Invoke(file.Position, totalBytes);
                cancellationToken.ThrowIfCancellationRequested();
            }

            if (options.Checkpoint is not null && ++sinceCheckpoint >= options.CheckpointEvery)
            {
                sinceCheckpoint = 0;
                if (sink is not null)
                {
                    await sink.FlushAsync(engine, cancellationToken);
                }

                WriteCheckpoint(options.Checkpoint, reader, engine, rejectCount, bars, alerts, late, rejects, barsFile, alertsFile, lateFile, rejectsFile);
            }
        }

        engine.CloseAll();
        if (sink is not null)
        {
            await sink.FlushAsync(engine, cancellationToken);
        }

        foreach (var w in new[] { bars, alerts, late, rejects })
        {
            w?.Flush();
        }

        if (options.Checkpoint is not null)
        {
            File.Delete(options.Checkpoint);
        }

        Progress?.Invoke(totalBytes, totalBytes);
        return new ReplayResult(reader.Line, engine.Ticks - engine.Refused, engine.BarsEmitted, engine.AlertsEmitted, engine.Late, engine.Duplicates, rejectCount + engine.Refused, resume is not null, clock.Elapsed);
    }

    private T NameInputIn<T>(Func<T> open)
    {
        try
        {
            return open();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{options.Input}: {e.Message}", e);
        }
    }

    private static FileStream OpenOutput(string path, long? resumeLength)
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

    private static void WriteCheckpoint(
        string path, TickStreamReader reader, WindowEngine engine, long rejects,
        RecordWriter bars, RecordWriter alerts, RecordWriter? late, RecordWriter? rejectsWriter,
        FileStream barsFile, FileStream alertsFile, FileStream? lateFile, FileStream? rejectsFile)
    {
        // Outputs reach the disk before the checkpoint that counts them does.
        foreach (var (writer, stream) in new[] { (bars, barsFile), (alerts, alertsFile), (late, lateFile), (rejectsWriter, rejectsFile) })
        {
            if (writer is not null)
            {
                writer.Flush();
                stream!.Flush(flushToDisk: true);
            }
        }

        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            using (var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                w.Write(CheckpointMagic);
                w.Write(reader.Position);
                w.Write(reader.Line);
                w.Write(rejects);
                w.Write(bars.BytesWritten);
                w.Write(alerts.BytesWritten);
                w.Write(late?.BytesWritten ?? -1);
                w.Write(rejectsWriter?.BytesWritten ?? -1);
            }

            engine.Save(stream);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    private static ResumePoint ReadCheckpoint(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            using var r = new BinaryReader(stream);
            if (r.ReadInt32() != CheckpointMagic)
            {
                throw new InvalidDataException($"{path} is not a replay checkpoint");
            }

            var point = new ResumePoint(
                InputPosition: r.ReadInt64(),
                Line: r.ReadInt64(),
                Rejects: r.ReadInt64(),
                BarsLength: r.ReadInt64(),
                AlertsLength: r.ReadInt64(),
                LateLength: NullIfNegative(r.ReadInt64()),
                RejectsLength: NullIfNegative(r.ReadInt64()),
                EngineState: r.ReadBytes((int)(stream.Length - stream.Position)));
            return point;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path} is truncated; delete it to start over", e);
        }
    }

    private static long? NullIfNegative(long value) => value < 0 ? null : value;

    private sealed record ResumePoint(long InputPosition, long Line, long Rejects, long BarsLength, long AlertsLength, long? LateLength, long? RejectsLength, byte[] EngineState);

    /// <summary>Sends every output to two receivers.</summary>
    private sealed class FanOut(IEngineOutput first, IEngineOutput second) : IEngineOutput
    {
        public void OnBar(Bar bar)
        {
            first.OnBar(bar);
            second.OnBar(bar);
        }

        public void OnAlert(Alert alert)
        {
            first.OnAlert(alert);
            second.OnAlert(alert);
        }

        public void OnLate(in Tick tick, long watermark)
        {
            first.OnLate(in tick, watermark);
            second.OnLate(in tick, watermark);
        }

        public void OnTick(in Tick tick, long position)
        {
            first.OnTick(in tick, position);
            second.OnTick(in tick, position);
        }

        public void OnReject(in Tick tick, long position, string reason)
        {
            first.OnReject(in tick, position, reason);
            second.OnReject(in tick, position, reason);
        }
    }
}
