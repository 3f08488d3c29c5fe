using System.Diagnostics;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.Web.Api;

namespace Breadboard.Web.Live;

/// <summary>Knows the state of the pipeline and its backends, for <c>/api/pipeline</c>, the stream, health and metrics.</summary>
/// <remarks>
/// Rates are sampled once a second and backends checked every few seconds by <see cref="LiveService"/>, so a
/// request never waits on a backend; <see cref="CheckBackendsAsync"/> is the live check behind /health/ready.
/// </remarks>
public sealed class PipelineMonitor(IMarketStore store, WebOptions options, LiveHub hub, PipelineStats? stats = null)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _lastTicks;
    private TimeSpan _lastSample;
    private double _ticksPerSecond;
    private IReadOnlyList<BackendStatus> _backends = [new("store", options.StoreUrl, "unknown", null)];
    private PipelineCounts _storedCounts;

    public PipelineStats? Stats => stats;

    /// <summary>Updates the tick rate; called once a second.</summary>
    public void Sample()
    {
        if (stats is null)
        {
            return;
        }

        var now = _clock.Elapsed;
        var ticks = stats.Ticks;
        var seconds = (now - _lastSample).TotalSeconds;
        if (seconds > 0)
        {
            _ticksPerSecond = (ticks - _lastTicks) / seconds;
        }

        (_lastTicks, _lastSample) = (ticks, now);
    }

    private async Task<BackendStatus> CheckAlertsAsync(Func<CancellationToken, Task> check, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            await check(timeout.Token);
            return new BackendStatus("alerts", options.AlertsUrl, "up", null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new BackendStatus("alerts", options.AlertsUrl, "down", "no answer within 2 s");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new BackendStatus("alerts", options.AlertsUrl, "down", e.Message.Split('\n')[0]);
        }
    }

    /// <summary>Asks every backend whether it answers, within the timeout.</summary>
    public async Task<IReadOnlyList<BackendStatus>> CheckBackendsAsync(CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        // The servers behind the store are pinged meanwhile: one down shows while the store answers from the others.
        var pinging = ServersAsync(cancellationToken);
        BackendStatus storeStatus;
        try
        {
            _storedCounts = await store.ReadCountsAsync(timeout.Token);
            storeStatus = new BackendStatus("store", options.StoreUrl, "up", null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            storeStatus = new BackendStatus("store", options.StoreUrl, "down", "no answer within 2 s");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Any store's failure (DuckDB's, ClickHouse's own exceptions): health answers 503 naming it, never 500.
            storeStatus = new BackendStatus("store", options.StoreUrl, "down", e.Message.Split('\n')[0]);
        }

        var servers = await pinging;
        var serversDown = servers.Count(s => s.Status != "up");
        if (servers.Count > 0)
        {
            storeStatus = storeStatus with
            {
                Detail = storeStatus.Detail ?? (serversDown == 0 ? null : $"{serversDown} of {servers.Count} servers down"),
                Servers = servers,
            };
        }

        _backends = options.AlertsCheck is null ? [storeStatus] : [storeStatus, await CheckAlertsAsync(options.AlertsCheck, cancellationToken)];
        return _backends;
    }

    /// <summary>The servers behind the store when it has several (its replicas), each pinged now; otherwise none.</summary>
    private async Task<IReadOnlyList<ServerStatus>> ServersAsync(CancellationToken cancellationToken)
    {
        var servers = await store.CheckServersAsync(cancellationToken);
        return servers.Count < 2
            ? []
            : [.. servers.Select(s => new ServerStatus(s.Server, s.Up ? "up" : "down", s.Error, s.Since is { } since ? Core.Model.EventTime.ToIso(since.ToUnixTimeMilliseconds()) : null))];
    }

    private BusStatus Bus()
    {
        if (options.BusLag is null)
        {
            return new BusStatus(options.BusUrl, null);
        }

        var partitions = options.BusLag();
        return new BusStatus(
            options.BusUrl,
            partitions.Count == 0 ? 0 : partitions.Max(p => p.LagSeconds),
            partitions.Sum(p => p.LagMessages),
            partitions);
    }

    public PipelineStatus Status()
    {
        var s = stats;
        var watermark = s is null || s.Watermark == long.MinValue ? (long?)null : s.Watermark;
        return new PipelineStatus(
            Running: s?.Running ?? false,
            Ticks: s?.Ticks,
            TicksPerSecond: s is null ? null : Math.Round(_ticksPerSecond, 1),
            Bars: s?.Bars,
            Alerts: s?.Alerts,
            Late: s?.Late ?? _storedCounts.Late,
            Duplicates: s?.Duplicates ?? _storedCounts.Duplicates,
            Rejects: s is null ? _storedCounts.Rejects : s.Rejects + s.Refused,
            Future: s?.Future,
            Held: s?.Held,
            LastReject: s?.LastReject is { } reason ? Core.Seams.OutsideText.ForDisplay(reason) : null,
            Watermark: watermark is { } w ? Core.Model.EventTime.ToIso(w) : null,
            WatermarkLagMs: watermark is { } wm ? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - wm : null,
            Bus: Bus(),
            Backends: _backends,
            StreamClients: hub.ClientCount,
            Feeds: options.Feeds?.Invoke(),
            Definition: Definition());
    }

    private PipelineDefinitionJson Definition()
    {
        var running = options.Running;
        return new PipelineDefinitionJson(
            running.Digest(),
            options.PipelineLoadedAt?.Invoke() is { } at ? Core.Model.EventTime.ToIso(at) : null,
            [.. running.Rules.Select(r => r.Name)],
            [.. running.Indicators.Select(i => i.Name)]);
    }
}
