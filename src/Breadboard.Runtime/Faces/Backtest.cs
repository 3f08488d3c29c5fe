using Breadboard.Core.Codec;
using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Runtime.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Breadboard.Runtime.Faces;

/// <summary>What to backtest: a pipeline over stored ticks, and where the results go.</summary>
public sealed record BacktestOptions
{
    /// <summary>Read only: a backtest never writes to it.</summary>
    public required IMarketStore Store { get; init; }

    /// <summary>Names the store in messages: its URL without secrets.</summary>
    public string StoreName { get; init; } = "the store";

    public required PipelineDefinition Pipeline { get; init; }

    /// <summary>First event time reported, epoch ms inclusive; ticks before it are read as warm-up. Null: from the first stored tick.</summary>
    public long? From { get; init; }

    /// <summary>Event time the ticks read end at, epoch ms exclusive; null: the last stored tick.</summary>
    public long? To { get; init; }

    /// <summary>Only these symbols; null or empty: every stored one.</summary>
    public IReadOnlyList<string>? Symbols { get; init; }

    /// <summary>Replay's alerts NDJSON; null writes none.</summary>
    public string? AlertsOut { get; init; }

    /// <summary>Replay's bars NDJSON; null writes none.</summary>
    public string? BarsOut { get; init; }

    /// <summary>Keep the reported bars and alerts in memory (<see cref="BacktestResult.KeptBars"/>), for a comparison or a report.</summary>
    public bool Keep { get; init; }

    public ILogger Logger { get; init; } = NullLogger.Instance;
}

/// <summary>What a backtest read and reported.</summary>
/// <param name="Ticks">Ticks the engine took (refused ones left out), the warm-up's included.</param>
/// <param name="WarmupTicks">Ticks taken before <see cref="BacktestOptions.From"/> to warm indicators and rules up.</param>
/// <param name="ReadFrom">Event time the ticks were read from: the range's start less the warm-up; null when read from the first.</param>
/// <param name="Bars">Bars reported: those whose window starts in the range.</param>
/// <param name="Alerts">Alerts reported: those of reported bars.</param>
public sealed record BacktestResult(
    long Ticks,
    long WarmupTicks,
    long? ReadFrom,
    long Bars,
    long Alerts,
    long Late,
    long Duplicates,
    long Refused,
    TimeSpan Elapsed,
    IReadOnlyList<Bar> KeptBars,
    IReadOnlyList<Alert> KeptAlerts);

/// <summary>
/// A pipeline over the stored ticks, in event-time order (ties in the order they were stored), through the same
/// engine host as a replay: on the same ticks, a backtest and a replay give identical bars and alerts.
/// </summary>
/// <remarks>
/// With a range start, enough earlier ticks are read first that every indicator and rule history is warmed up
/// (<see cref="PipelineDefinition.WarmupMs"/>); bars whose window starts before the range, and their alerts, are
/// not reported. A backtest never reads the wall clock and never writes to the store.
/// </remarks>
public static class Backtest
{
    private const int ProgressEvery = 65_536;

    /// <param name="progress">Called now and then with (ticks read, ticks to read), for a progress bar.</param>
    /// <exception cref="InvalidDataException">The range is empty, a symbol has no stored ticks, or the store has none: one line saying which.</exception>
    public static async Task<BacktestResult> RunAsync(BacktestOptions options, Action<long, long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (query, span) = await PlanAsync(options, cancellationToken);
        using var reporter = new Reporter(options, query.From, progress, span.Count);
        using var source = new StoreTickSource($"{options.StoreName} ticks", options.Store, query, cancellationToken: cancellationToken);
        var host = new EngineHost(options.Pipeline, new EngineHostOptions
        {
            Output = reporter,
            CompleteAtEnd = true,
            Logger = options.Logger,
        });
        var run = await host.RunAsync(source, cancellationToken: cancellationToken);
        if (!source.Exhausted)
        {
            throw new OperationCanceledException(cancellationToken);
        }

        reporter.Finish();
        progress?.Invoke(span.Count, span.Count);
        return new BacktestResult(
            run.Ticks,
            reporter.WarmupTicks,
            query.From,
            reporter.Bars,
            reporter.Alerts,
            run.Late,
            run.Duplicates,
            run.Rejects,
            run.Elapsed,
            reporter.KeptBars,
            reporter.KeptAlerts);
    }

    /// <summary>The query to read, with the warm-up before the range, after checking there is something to read.</summary>
    private static async Task<(TickQuery Query, TickSpan Span)> PlanAsync(BacktestOptions o, CancellationToken cancellationToken)
    {
        if (o.From is { } from && o.To is { } to && from >= to)
        {
            throw new InvalidDataException($"the range from {EventTime.ToIso(from)} to {EventTime.ToIso(to)} is empty: the start must be before the end");
        }

        var all = await o.Store.MeasureTicksAsync(new TickQuery(), cancellationToken);
        if (all.Count == 0)
        {
            throw new InvalidDataException($"{o.StoreName} has no ticks: run 'up', 'ingest' and 'process', or 'replay --store' into it first");
        }

        var symbols = o.Symbols is { Count: > 0 } ? o.Symbols : null;
        if (symbols is not null)
        {
            var stored = new List<string>();
            await foreach (var s in o.Store.QuerySymbolsAsync(cancellationToken))
            {
                stored.Add(s.Symbol);
            }

            var unknown = symbols.Where(s => !stored.Contains(s, StringComparer.Ordinal)).ToList();
            if (unknown.Count > 0)
            {
                var shown = string.Join(", ", stored.Take(20)) + (stored.Count > 20 ? $" and {stored.Count - 20} more" : "");
                throw new InvalidDataException($"{(unknown.Count == 1 ? "symbol" : "symbols")} {string.Join(", ", unknown.Select(u => $"'{OutsideText.ForDisplay(u)}'"))} {(unknown.Count == 1 ? "has" : "have")} no stored ticks in {o.StoreName} (it has {OutsideText.ForDisplay(shown)})");
            }
        }

        var range = new TickQuery(From: o.From, To: o.To) { Symbols = symbols };
        var inRange = await o.Store.MeasureTicksAsync(range, cancellationToken);
        if (inRange.Count == 0)
        {
            throw new InvalidDataException($"no stored ticks {Describe(o.From, o.To)}{(symbols is null ? "" : $" for {string.Join(", ", symbols)}")} in {o.StoreName} (its ticks are from {EventTime.ToIso(all.FirstTs)} to {EventTime.ToIso(all.LastTs)})");
        }

        var warmup = o.Pipeline.WarmupMs();
        var query = o.From is { } start && warmup > 0 ? range with { From = start - Math.Min(warmup, start - EventTime.MinMs) } : range;
        var span = query == range ? inRange : await o.Store.MeasureTicksAsync(query, cancellationToken);
        return (query, span);
    }

    private static string Describe(long? from, long? to) => (from, to) switch
    {
        ({ } f, { } t) => $"from {EventTime.ToIso(f)} to {EventTime.ToIso(t)}",
        ({ } f, null) => $"from {EventTime.ToIso(f)} on",
        (null, { } t) => $"before {EventTime.ToIso(t)}",
        _ => "",
    };

    /// <summary>Writes and keeps what is reported (bars whose window starts in the range, and their alerts), and counts progress.</summary>
    private sealed class Reporter : IEngineOutput, IDisposable
    {
        private readonly long _reportFrom;
        private readonly long _warmupBefore;
        private readonly Action<long, long>? _progress;
        private readonly long _total;
        private readonly FileStream? _barsFile;
        private readonly FileStream? _alertsFile;
        private readonly RecordWriter? _bars;
        private readonly RecordWriter? _alerts;
        private readonly List<Bar>? _keptBars;
        private readonly List<Alert>? _keptAlerts;
        private int _untilProgress = ProgressEvery;

        public Reporter(BacktestOptions o, long? readFrom, Action<long, long>? progress, long total)
        {
            _reportFrom = o.From is { } from && readFrom is not null ? from : long.MinValue;
            _warmupBefore = _reportFrom;
            _progress = progress;
            _total = total;
            if (o.Keep)
            {
                (_keptBars, _keptAlerts) = ([], []);
            }

            try
            {
                if (o.BarsOut is { } barsPath)
                {
                    _barsFile = File.Create(barsPath, 1 << 16);
                    _bars = new RecordWriter(_barsFile, RecordFormat.Ndjson, o.Pipeline.Aggregates);
                }

                if (o.AlertsOut is { } alertsPath)
                {
                    _alertsFile = File.Create(alertsPath, 1 << 16);
                    _alerts = new RecordWriter(_alertsFile);
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public long WarmupTicks { get; private set; }

        public long Bars { get; private set; }

        public long Alerts { get; private set; }

        public IReadOnlyList<Bar> KeptBars => _keptBars ?? [];

        public IReadOnlyList<Alert> KeptAlerts => _keptAlerts ?? [];

        public void OnBar(Bar bar)
        {
            if (bar.WindowStart >= _reportFrom)
            {
                Bars++;
                _bars?.Write(bar);
                _keptBars?.Add(bar);
            }
        }

        public void OnAlert(Alert alert)
        {
            if (alert.WindowStart >= _reportFrom)
            {
                Alerts++;
                _alerts?.Write(alert);
                _keptAlerts?.Add(alert);
            }
        }

        public void OnLate(in Tick tick, long watermark)
        {
        }

        public void OnTick(in Tick tick, long position)
        {
            if (tick.Ts < _warmupBefore)
            {
                WarmupTicks++;
            }

            if (--_untilProgress == 0)
            {
                _untilProgress = ProgressEvery;
                _progress?.Invoke(Math.Min(position, _total), _total);
            }
        }

        public void OnReject(in Tick tick, long position, string reason)
        {
        }

        /// <summary>Flushes the files to the disk.</summary>
        public void Finish()
        {
            _bars?.Flush();
            _alerts?.Flush();
            _barsFile?.Flush(flushToDisk: true);
            _alertsFile?.Flush(flushToDisk: true);
        }

        public void Dispose()
        {
            _bars?.Dispose();
            _alerts?.Dispose();
            _barsFile?.Dispose();
            _alertsFile?.Dispose();
        }
    }
}
