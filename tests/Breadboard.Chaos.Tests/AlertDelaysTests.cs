namespace Breadboard.Chaos.Tests;

public class AlertDelaysTests
{
    private static string Metrics(double natsSum, long natsCount) =>
        $$"""
        # TYPE breadboard_freshness_alert_seconds histogram
        breadboard_freshness_alert_seconds_bucket{otel_scope_name="Breadboard.Freshness",stage="nats",le="0.005"} 1 1733211111000
        breadboard_freshness_alert_seconds_sum{otel_scope_name="Breadboard.Freshness",stage="nats"} {{natsSum}} 1733211111000
        breadboard_freshness_alert_seconds_count{otel_scope_name="Breadboard.Freshness",stage="nats"} {{natsCount}} 1733211111000
        """;

    [Fact]
    public void TakeIntervalMeans_GivesTheMeanOfTheAlertsSinceTheLastReading_AcrossARestart()
    {
        var delays = new AlertDelays();
        delays.Read(0, Metrics(0.010, 2));
        Assert.Equal(5, delays.TakeIntervalMeans().Nats!.Value, 6);

        delays.Read(0, Metrics(0.040, 4));
        Assert.Equal(15, delays.TakeIntervalMeans().Nats!.Value, 6);

        Assert.Null(delays.TakeIntervalMeans().Nats);

        delays.Read(0, Metrics(0.003, 1)); // the processor started again: its counters are new
        Assert.Equal(3, delays.TakeIntervalMeans().Nats!.Value, 6);
    }
}
