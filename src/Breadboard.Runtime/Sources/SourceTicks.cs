using System.Runtime.CompilerServices;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using Breadboard.Core.Streaming;

namespace Breadboard.Runtime.Sources;

/// <summary>A source as a stream of ticks, for a face whose engine runs elsewhere (behind Kafka).</summary>
public static class SourceTicks
{
    /// <summary>
    /// The source's ticks until it ends; input that is not a tick is counted on <paramref name="stats"/> with its
    /// reason, and handed to <paramref name="onReject"/> when given (to dead-letter it).
    /// </summary>
    public static async IAsyncEnumerable<Tick> ReadAllAsync(ITickSource source, PipelineStats stats, Action<Reject>? onReject = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(stats);
        while (true)
        {
            switch (source.Read(out var tick, out _))
            {
                case SourceStatus.Tick:
                    yield return tick;
                    break;
                case SourceStatus.Rejected:
                    CountReject(source, stats);
                    onReject?.Invoke(source.LastReject!);
                    break;
                case SourceStatus.Empty:
                    await source.WaitAsync(TimeSpan.FromMilliseconds(100), cancellationToken);
                    break;
                case SourceStatus.End:
                    yield break;
            }
        }
    }

    /// <summary>Counts the input the source just refused, and shows where it was and why.</summary>
    public static void CountReject(ITickSource source, PipelineStats stats)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(stats);
        stats.Rejected();
        stats.RejectReason($"{source.Name}:{source.LastReject!.Line}: {source.LastReject.Reason}");
    }
}
