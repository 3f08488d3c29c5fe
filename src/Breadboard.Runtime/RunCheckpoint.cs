using System.Text;

namespace Breadboard.Runtime;

/// <summary>
/// The one checkpoint of a run: where in its input it is, the totals so far, the lengths of its output files and
/// the engine's state. Files keep it in this format; the store keeps the same fields in its checkpoints
/// (<see cref="Core.Seams.Checkpoint"/>: position, totals, engine state), written in the same transaction as the
/// outputs they cover.
/// </summary>
/// <param name="Position">Where the input continues: a byte offset in a file, a count of ticks taken from a feed, a Kafka offset.</param>
/// <param name="Line">The number of the last line read (files), for the rejects output.</param>
/// <param name="Rejects">Input refused before this point, in total.</param>
/// <param name="OutputLengths">Each output file's length at this point; empty when the run writes no files.</param>
/// <param name="EngineState">What <see cref="Core.Engine.WindowEngine.Save"/> wrote.</param>
public sealed record RunCheckpoint(long Position, long Line, long Rejects, IReadOnlyList<long> OutputLengths, byte[] EngineState)
{
    private const int Magic = 0x43524242; // "BBRC"
    private const int Version = 1;

    // Formats before this one, still read so that a run started by an older build resumes.
    private const int ReplayMagic = 0x52504242; // "BBPR": replay's own checkpoint
    private const int EngineMagic = 0x4B434242; // "BBCK": the engine's state alone, as `up` kept it

    /// <summary>Writes the checkpoint to <paramref name="path"/> atomically: a crash leaves the old one or the new one, never a mix.</summary>
    public void WriteTo(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            using (var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
            {
                w.Write(Magic);
                w.Write(Version);
                w.Write(Position);
                w.Write(Line);
                w.Write(Rejects);
                w.Write(OutputLengths.Count);
                foreach (var length in OutputLengths)
                {
                    w.Write(length);
                }

                w.Write(EngineState.Length);
                w.Write(EngineState);
            }

            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Reads a checkpoint file, in this format or an older one.</summary>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, or is truncated; the message names the file.</exception>
    public static RunCheckpoint ReadFrom(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var bytes = File.ReadAllBytes(path);
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes));
            var magic = bytes.Length >= 4 ? r.ReadInt32() : 0;
            switch (magic)
            {
                case Magic:
                    var version = r.ReadInt32();
                    if (version != Version)
                    {
                        throw new InvalidDataException($"{path}: checkpoint version {version} is not supported (expected {Version}); delete it to start over");
                    }

                    var position = r.ReadInt64();
                    var line = r.ReadInt64();
                    var rejects = r.ReadInt64();
                    var count = r.ReadInt32();
                    if (count is < 0 or > 64)
                    {
                        throw new InvalidDataException($"{path} is damaged ({count} outputs); delete it to start over");
                    }

                    var lengths = new long[count];
                    for (var i = 0; i < count; i++)
                    {
                        lengths[i] = r.ReadInt64();
                    }

                    var size = r.ReadInt32();
                    var state = r.ReadBytes(size);
                    if (size < 0 || state.Length != size)
                    {
                        throw new EndOfStreamException();
                    }

                    return new RunCheckpoint(position, line, rejects, lengths, state);
                case ReplayMagic:
                    var p = r.ReadInt64();
                    var l = r.ReadInt64();
                    var rej = r.ReadInt64();
                    long[] outputs = [r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64()];
                    return new RunCheckpoint(p, l, rej, outputs, bytes[(int)r.BaseStream.Position..]);
                case EngineMagic:
                    return new RunCheckpoint(0, 0, 0, [], bytes);
                default:
                    throw new InvalidDataException($"{path} is not a Breadboard checkpoint");
            }
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path} is truncated; delete it to start over", e);
        }
    }
}
