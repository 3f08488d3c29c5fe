using Breadboard.Core.Codec;
using Breadboard.Core.Model;

namespace Breadboard.Runtime.Sources;

/// <summary>What a <see cref="ITickSource"/> read.</summary>
public enum SourceStatus
{
    /// <summary>A tick, with its position.</summary>
    Tick,

    /// <summary>Input that is not a tick; see <see cref="ITickSource.LastReject"/>.</summary>
    Rejected,

    /// <summary>Nothing yet: wait with <see cref="ITickSource.WaitAsync"/>.</summary>
    Empty,

    /// <summary>No more input: the input ended (<see cref="ITickSource.Exhausted"/>) or the run was stopped.</summary>
    End,
}

/// <summary>Where an engine host reads ticks from: a file, a feed, a replay paced in event time.</summary>
/// <remarks>Read on one thread, the engine's. A source that has a position resumes from a checkpoint's.</remarks>
public interface ITickSource : IDisposable
{
    /// <summary>Names the input in messages (a path, a feed).</summary>
    string Name { get; }

    /// <summary>Where the input continues after the last tick or reject read; a checkpoint records it.</summary>
    long Position { get; }

    /// <summary>The number of the last line read, for inputs with lines; otherwise 0.</summary>
    long Line { get; }

    /// <summary>Set once the input has ended by itself (not because the run was stopped).</summary>
    bool Exhausted { get; }

    /// <summary>The input refused by the last read that returned <see cref="SourceStatus.Rejected"/>.</summary>
    Reject? LastReject { get; }

    /// <summary>
    /// The <see cref="System.Diagnostics.Stopwatch"/> stamp of when this process received the last tick read, for
    /// <see cref="Core.Streaming.Freshness"/>; 0 for input that is not live (a file, the store).
    /// </summary>
    long ReceivedAt => 0;

    /// <summary>Reads without waiting.</summary>
    /// <param name="position">The tick's position, given to the engine: input before a checkpoint's position was taken before it.</param>
    SourceStatus Read(out Tick tick, out long position);

    /// <summary>Waits until a read may return something other than <see cref="SourceStatus.Empty"/>, or for at most <paramref name="timeout"/>.</summary>
    ValueTask WaitAsync(TimeSpan timeout, CancellationToken cancellationToken);
}
