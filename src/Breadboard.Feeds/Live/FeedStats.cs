using System.Diagnostics;

namespace Breadboard.Feeds.Live;

/// <summary>One live connection's counters, written by its reader and read by the API (<c>/api/pipeline</c>).</summary>
public sealed class FeedStats(string venue, string url)
{
    private readonly Lock _rateGate = new();
    private long _connects, _messages, _trades, _heartbeats, _malformed, _unknown, _venueErrors, _sequenceGaps, _gaps, _lastMessageMs;
    private volatile bool _connected;
    private volatile string? _lastError;
    private long _rateAt = Stopwatch.GetTimestamp(), _rateMessages;
    private double _rate;

    public string Venue { get; } = venue;

    /// <summary>The endpoint without query or credentials.</summary>
    public string Url { get; } = url;

    public long Problems(DecodeKind kind) => kind switch
    {
        DecodeKind.Malformed => Interlocked.Read(ref _malformed),
        DecodeKind.Unknown => Interlocked.Read(ref _unknown),
        DecodeKind.VenueError => Interlocked.Read(ref _venueErrors),
        _ => 0,
    };

    internal void Connected()
    {
        Interlocked.Increment(ref _connects);
        _connected = true;
    }

    internal void Disconnected() => _connected = false;

    internal void Failed(string reason) => _lastError = reason;

    internal void Message()
    {
        Interlocked.Increment(ref _messages);
        Volatile.Write(ref _lastMessageMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    internal void Trade() => Interlocked.Increment(ref _trades);

    internal void Heartbeat() => Interlocked.Increment(ref _heartbeats);

    internal void SequenceGap() => Interlocked.Increment(ref _sequenceGaps);

    internal void Gap() => Interlocked.Increment(ref _gaps);

    internal void Problem(DecodeKind kind)
    {
        switch (kind)
        {
            case DecodeKind.Malformed:
                Interlocked.Increment(ref _malformed);
                break;
            case DecodeKind.Unknown:
                Interlocked.Increment(ref _unknown);
                break;
            case DecodeKind.VenueError:
                Interlocked.Increment(ref _venueErrors);
                break;
        }
    }

    /// <summary>The counters now, with the message rate over the time since the previous snapshot (at least 1 s).</summary>
    public FeedStatus Snapshot()
    {
        var messages = Interlocked.Read(ref _messages);
        lock (_rateGate)
        {
            var elapsed = Stopwatch.GetElapsedTime(_rateAt);
            if (elapsed >= TimeSpan.FromSeconds(1))
            {
                _rate = (messages - _rateMessages) / elapsed.TotalSeconds;
                _rateAt = Stopwatch.GetTimestamp();
                _rateMessages = messages;
            }
        }

        var last = Volatile.Read(ref _lastMessageMs);
        return new FeedStatus(
            Venue,
            Url,
            _connected,
            Math.Max(0, Interlocked.Read(ref _connects) - 1),
            messages,
            Math.Round(_rate, 1),
            Interlocked.Read(ref _trades),
            Interlocked.Read(ref _heartbeats),
            Interlocked.Read(ref _malformed),
            Interlocked.Read(ref _unknown),
            Interlocked.Read(ref _venueErrors),
            Interlocked.Read(ref _sequenceGaps),
            Interlocked.Read(ref _gaps),
            last == 0 ? null : last,
            _lastError);
    }
}

/// <summary>A live connection's state as the API reports it.</summary>
/// <param name="Reconnects">Connections made after the first.</param>
/// <param name="MessagesPerSecond">Over the interval since the previous snapshot.</param>
/// <param name="SequenceGaps">Jumps in the venue's own numbering.</param>
/// <param name="Gaps">Gaps reported for backfill (after a reconnect or a sequence jump, per symbol).</param>
/// <param name="LastMessageMs">Epoch ms of the last message, null before the first.</param>
/// <param name="LastError">Why the last connection ended, or null.</param>
public sealed record FeedStatus(
    string Venue,
    string Url,
    bool Connected,
    long Reconnects,
    long Messages,
    double MessagesPerSecond,
    long Trades,
    long Heartbeats,
    long Malformed,
    long Unknown,
    long VenueErrors,
    long SequenceGaps,
    long Gaps,
    long? LastMessageMs,
    string? LastError);
