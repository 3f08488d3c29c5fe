using Breadboard.Core.Streaming;
using OpenTelemetry.Metrics;

namespace Breadboard.Web;

/// <summary>The <see cref="Freshness"/> histograms on a /metrics endpoint.</summary>
public static class FreshnessMetrics
{
    /// <summary>Exports the freshness meter, its histograms with buckets from 1 ms to 10 s.</summary>
    public static MeterProviderBuilder AddFreshness(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var buckets = new ExplicitBucketHistogramConfiguration { Boundaries = [.. Freshness.Buckets] };
        return builder
            .AddMeter(Freshness.MeterName)
            .AddView(Freshness.TickToStreamName, buckets)
            .AddView(Freshness.AlertName, buckets);
    }
}
