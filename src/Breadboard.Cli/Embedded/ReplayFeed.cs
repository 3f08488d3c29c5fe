using System.IO.Compression;
using System.Runtime.CompilerServices;
using Breadboard.Cli.Replay;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using Breadboard.Core.Streaming;

namespace Breadboard.Cli.Embedded;

/// <summary>A tick file as a live feed for <c>up</c>: paced at a multiple of event time; bad lines are counted as rejects.</summary>
internal static class ReplayFeed
{
    public static async IAsyncEnumerable<Tick> ReadAsync(string path, double? speed, PipelineStats stats, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan | FileOptions.Asynchronous);
        await using Stream input = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new TickStreamReader(input, TickStreamReader.FormatOf(path));
        var pacer = speed is { } s ? new Pacer(s) : null;
        while (true)
        {
            var status = reader.Read(out var tick);
            if (status == ReadStatus.End)
            {
                yield break;
            }

            if (status == ReadStatus.Rejected)
            {
                stats.Rejected();
                stats.RejectReason($"{path}:{reader.LastReject!.Line}: {reader.LastReject.Reason}");
                continue;
            }

            if (pacer is not null)
            {
                await pacer.WaitAsync(tick.Ts, cancellationToken);
            }

            yield return tick;
        }
    }
}
