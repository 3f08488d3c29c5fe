using System.Diagnostics;
using System.Diagnostics.Metrics;
using Breadboard.Core.Streaming;

namespace Breadboard.Core.Tests.Streaming;

public sealed class FreshnessTests : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<(string Instrument, string? Stage, double Value)> _measured = [];

    public FreshnessTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == Freshness.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            lock (_measured)
            {
                _measured.Add((instrument.Name, tags.Length > 0 ? tags[0].Value as string : null, value));
            }
        });
        _listener.Start();
    }

    public void Dispose() => _listener.Dispose();

    private List<(string Instrument, string? Stage, double Value)> Measured(string stage)
    {
        lock (_measured)
        {
            return [.. _measured.Where(m => m.Instrument == Freshness.AlertName && m.Stage == stage)];
        }
    }

    [Fact]
    public void AlertReached_EachStageOnce_FromTheCloseStamp()
    {
        var id = $"test:{Guid.NewGuid():N}";
        var closedAt = Stopwatch.GetTimestamp() - Stopwatch.Frequency / 2; // half a second ago

        Freshness.AlertClosed(id, closedAt);
        Freshness.AlertReached(id, FreshnessStage.Nats);
        Freshness.AlertReached(id, FreshnessStage.Nats); // a re-publish after a crash: not counted again
        Freshness.AlertReached(id, FreshnessStage.Notifier);

        var nats = Assert.Single(Measured("nats"));
        Assert.InRange(nats.Value, 0.5, 3600);
        Assert.Single(Measured("notifier"));
    }

    [Fact]
    public void AlertReached_OfflineOrUnknownAlert_RecordsNothing()
    {
        var offline = $"test:{Guid.NewGuid():N}";

        Freshness.AlertClosed(offline, 0); // a replay stamps nothing
        Freshness.AlertReached(offline, FreshnessStage.Store);
        Freshness.AlertReached($"test:{Guid.NewGuid():N}", FreshnessStage.Store); // from another process, read back from NATS

        Assert.Empty(Measured("store"));
    }

    [Fact]
    public void TickOnStream_RecordsSecondsSinceReceived_AndNothingForAnUnstampedTick()
    {
        var now = Stopwatch.GetTimestamp();

        Freshness.TickOnStream(now - Stopwatch.Frequency / 4, now);
        Freshness.TickOnStream(0, now);

        lock (_measured)
        {
            var tick = Assert.Single(_measured, m => m.Instrument == Freshness.TickToStreamName);
            Assert.Equal(0.25, tick.Value, 3);
        }
    }
}
