using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Breadboard.Core.Streaming;

/// <summary>Where an alert has got to, for <see cref="Freshness.AlertReached"/>.</summary>
public enum FreshnessStage
{
    /// <summary>Broadcast on the dashboard's live stream.</summary>
    Stream,

    /// <summary>Written to the store (the write returned).</summary>
    Store,

    /// <summary>Acknowledged by NATS JetStream.</summary>
    Nats,

    /// <summary>Accepted by a notification channel.</summary>
    Notifier,
}

/// <summary>
/// How fresh what users see is: per tick, from when this process received it (from the feed, or from Kafka) to
/// when the dashboard's stream broadcast it; per alert, from when its window could close (the arrival of the input
/// that moved the watermark past the window's end) to each <see cref="FreshnessStage"/>. Histograms in seconds on
/// the <see cref="MeterName"/> meter, exported on /metrics.
/// </summary>
/// <remarks>
/// <para>Times are <see cref="Stopwatch.GetTimestamp"/> stamps: monotonic and of this process only, so a stage in
/// another process (a notifier reading NATS in <c>breadboard notify</c>) records nothing. Offline runs (replay,
/// backtest) stamp nothing, and a stamp of 0 records nothing.</para>
/// <para>An alert's close stamp is kept by alert id (the stages see different copies of an alert: one read back from
/// NATS is a new object) for <see cref="AlertMemory"/>, and each stage is recorded once per id, so a redelivery or a
/// re-publish does not count twice.</para>
/// </remarks>
public static class Freshness
{
    /// <summary>The meter of the freshness histograms.</summary>
    public const string MeterName = "Breadboard.Freshness";

    /// <summary>Prometheus: <c>breadboard_freshness_tick_to_stream_seconds</c>.</summary>
    public const string TickToStreamName = "breadboard.freshness.tick_to_stream";

    /// <summary>Prometheus: <c>breadboard_freshness_alert_seconds{stage="stream|store|nats|notifier"}</c>.</summary>
    public const string AlertName = "breadboard.freshness.alert";

    /// <summary>How long an alert's close stamp is kept for the stages after it.</summary>
    public static readonly TimeSpan AlertMemory = TimeSpan.FromMinutes(5);

    private static readonly double[] BucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];

    private static readonly Meter Meter = new(MeterName);

    private static readonly Histogram<double> TickToStream = Meter.CreateHistogram(
        TickToStreamName,
        "s",
        "Per tick: from when the process received it (feed or Kafka) to the dashboard stream's broadcast of the tick summary carrying it.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = BucketBoundaries });

    private static readonly Histogram<double> Alert = Meter.CreateHistogram(
        AlertName,
        "s",
        "Per alert: from when its window could close (arrival of the input that moved the watermark past the window's end) to the stage.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = BucketBoundaries });

    private static readonly KeyValuePair<string, object?>[] StageTags =
    [
        new("stage", "stream"),
        new("stage", "store"),
        new("stage", "nats"),
        new("stage", "notifier"),
    ];

    private static readonly ConcurrentDictionary<string, AlertClock> Alerts = new(StringComparer.Ordinal);
    private static readonly ConcurrentQueue<(string Id, long ClosedAt)> Expiry = new();

    /// <summary>Bucket boundaries suited to 1 ms … 10 s, for a view that sets them explicitly.</summary>
    public static IReadOnlyList<double> Buckets => BucketBoundaries;

    /// <summary>The current monotonic stamp.</summary>
    public static long Now() => Stopwatch.GetTimestamp();

    /// <summary>A tick received at <paramref name="receivedAt"/> was broadcast at <paramref name="now"/>.</summary>
    public static void TickOnStream(long receivedAt, long now)
    {
        if (receivedAt != 0)
        {
            TickToStream.Record(Seconds(receivedAt, now));
        }
    }

    /// <summary>Whether anything listens to the tick histogram (so a caller can skip keeping stamps).</summary>
    public static bool TicksMeasured => TickToStream.Enabled;

    /// <summary>An alert was made; its window could close at <paramref name="closedAt"/> (0: offline, nothing is kept).</summary>
    public static void AlertClosed(string alertId, long closedAt)
    {
        ArgumentNullException.ThrowIfNull(alertId);
        if (closedAt == 0)
        {
            return;
        }

        if (Alerts.TryAdd(alertId, new AlertClock(closedAt)))
        {
            Expiry.Enqueue((alertId, closedAt));
        }

        var forgetBefore = closedAt - (long)(AlertMemory.TotalSeconds * Stopwatch.Frequency);
        while (Expiry.TryPeek(out var oldest) && oldest.ClosedAt < forgetBefore && Expiry.TryDequeue(out oldest))
        {
            Alerts.TryRemove(oldest.Id, out _);
        }
    }

    /// <summary>An alert reached <paramref name="stage"/> now; recorded the first time for an alert whose close this process stamped.</summary>
    public static void AlertReached(string alertId, FreshnessStage stage)
    {
        ArgumentNullException.ThrowIfNull(alertId);
        if (Alerts.IsEmpty || !Alerts.TryGetValue(alertId, out var clock))
        {
            return;
        }

        var bit = 1 << (int)stage;
        if ((Interlocked.Or(ref clock.Reached, bit) & bit) == 0)
        {
            Alert.Record(Seconds(clock.ClosedAt, Stopwatch.GetTimestamp()), StageTags[(int)stage]);
        }
    }

    private static double Seconds(long from, long to) => Math.Max(0, to - from) / (double)Stopwatch.Frequency;

    private sealed class AlertClock(long closedAt)
    {
        public readonly long ClosedAt = closedAt;
        public int Reached;
    }
}
