using System.Runtime.CompilerServices;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.Web.Live;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Breadboard.Web.Api;

/// <summary>The read API over the store seam: symbols, bars, ticks, alerts, pipeline status, health.</summary>
internal static class BreadboardApi
{
    public const int DefaultLimit = 1_000;

    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");
        api.MapGet("/symbols", Symbols).WithSummary("Every symbol's last price and its change over the trailing 24 h.");
        api.MapGet("/bars", Bars).WithSummary("Bars of one symbol and window, ascending by window_start; with limit, the latest; with indicators=true, each with the window's indicator values.");
        api.MapGet("/ticks", Ticks).WithSummary("Ticks ascending by ts; with limit, the latest.");
        api.MapGet("/alerts", Alerts).WithSummary("Alerts ascending by ts; with limit, the latest.");
        api.MapGet("/batch", Batch).WithSummary("The batch job history, newest first: run id, job, start, end, status, rows, error, attempt.");
        api.MapGet("/pipeline", (PipelineMonitor monitor) => TypedResults.Ok(monitor.Status())).WithSummary("Rates, watermark, drop counts, bus lag, backend status, and the running definition's digest and load time.");
        api.MapPost("/pipeline/reload", ReloadAsync)
            .RequireApiKey()
            .WithSummary("Reloads the pipeline file: rules and indicators change from the next bar that closes; a file that does not load, or changes windows or event-time settings, is refused and the running definition stays (needs X-Api-Key).");

        app.MapGet("/health/live", () => TypedResults.Ok(new { status = "live" })).WithSummary("200 while the process runs.");
        app.MapGet("/health/ready", Ready).WithSummary("200 when every backend answers, 503 naming the one that does not.");
    }

    private static async IAsyncEnumerable<SymbolJson> Symbols(IMarketStore store, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var s in store.QuerySymbolsAsync(cancellationToken))
        {
            yield return new SymbolJson(s.Symbol, AssetClasses.Name(s.AssetClass), s.LastPrice, EventTime.ToIso(s.LastTs), s.FirstPrice24h, Math.Round(s.ChangePercent, 4));
        }
    }

    private static Results<Ok<IAsyncEnumerable<BarJson>>, ValidationProblem> Bars(
        string? symbol, string? window, string? from, string? to, string? limit, string? indicators, IMarketStore store, WebOptions options, ChartIndicators chart, CancellationToken cancellationToken)
    {
        var q = new QueryCheck();
        q.Required(nameof(symbol), symbol);
        q.Required(nameof(window), window);
        if (window is not null && !options.Pipeline.Windows.Any(w => w.Name == window))
        {
            q.Fail(nameof(window), $"must be one of: {string.Join(", ", options.Pipeline.Windows.Select(w => w.Name))}");
        }

        var fromMs = q.Time(nameof(from), from);
        var toMs = q.Time(nameof(to), to);
        var take = q.Limit(nameof(limit), limit, options.MaxLimit);
        var withIndicators = q.Flag(nameof(indicators), indicators);
        if (q.Problem() is { } problem)
        {
            return problem;
        }

        var query = new BarQuery(symbol, window, fromMs, toMs, take);
        return withIndicators && chart.Of(window!) is { } shown
            ? TypedResults.Ok(WithIndicators(store, query, chart, shown, options.MaxLimit, cancellationToken))
            : TypedResults.Ok(Select(store.QueryBarsAsync(query, cancellationToken), BarJson.From));
    }

    /// <summary>
    /// The bars of <paramref name="query"/>, each with its window's indicator values, computed by the engine's code
    /// over up to <see cref="WindowIndicators.Warmup"/> (at most <paramref name="maxWarmup"/>) stored bars before the
    /// first one and then the bars themselves.
    /// </summary>
    /// <remarks>
    /// When the store holds fewer bars before the first than the warm-up asks for, the computation starts at the
    /// symbol's first bar, as the engine's did, and every value is the engine's. Otherwise sma, zscore and bollinger
    /// still are (they look back a fixed number of bars); the recursive ema, rsi and atr start from a later seed than
    /// the engine's and differ from its values by less than e^−20 of the seed's difference, unless the warm-up
    /// was capped at <paramref name="maxWarmup"/> bars.
    /// </remarks>
    private static async IAsyncEnumerable<BarJson> WithIndicators(
        IMarketStore store, BarQuery query, ChartIndicators chart, WindowIndicators window, int maxWarmup, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var shown = new List<Bar>();
        await foreach (var bar in store.QueryBarsAsync(query, cancellationToken))
        {
            shown.Add(bar);
        }

        if (shown.Count == 0)
        {
            yield break;
        }

        var warmup = new List<Bar>();
        var count = Math.Min(window.Warmup, maxWarmup);
        if (count > 0)
        {
            await foreach (var bar in store.QueryBarsAsync(new BarQuery(query.Symbol, query.Window, null, shown[0].WindowStart, count), cancellationToken))
            {
                warmup.Add(bar);
            }
        }

        var values = chart.Compute(window, warmup, shown);
        for (var b = 0; b < shown.Count; b++)
        {
            yield return BarJson.From(shown[b]) with { Indicators = window.Named(values[b]) };
        }
    }

    private static Results<Ok<IAsyncEnumerable<TickJson>>, ValidationProblem> Ticks(
        string? symbol, string? from, string? to, string? limit, IMarketStore store, WebOptions options, CancellationToken cancellationToken)
    {
        var q = new QueryCheck();
        var fromMs = q.Time(nameof(from), from);
        var toMs = q.Time(nameof(to), to);
        var take = q.Limit(nameof(limit), limit, options.MaxTickLimit);
        if (q.Problem() is { } problem)
        {
            return problem;
        }

        return TypedResults.Ok(Select(store.QueryTicksAsync(new TickQuery(symbol, fromMs, toMs, take), cancellationToken), TickJson.From));
    }

    private static Results<Ok<IAsyncEnumerable<AlertJson>>, ValidationProblem> Alerts(
        string? symbol, string? rule, string? since, string? limit, IMarketStore store, WebOptions options, CancellationToken cancellationToken)
    {
        var q = new QueryCheck();
        var sinceMs = q.Time(nameof(since), since);
        var take = q.Limit(nameof(limit), limit, options.MaxLimit);
        if (q.Problem() is { } problem)
        {
            return problem;
        }

        return TypedResults.Ok(Select(store.QueryAlertsAsync(new AlertQuery(symbol, rule, sinceMs, null, take), cancellationToken), AlertJson.From));
    }

    private static Results<Ok<IAsyncEnumerable<BatchRunJson>>, ValidationProblem> Batch(string? limit, IMarketStore store, WebOptions options, CancellationToken cancellationToken)
    {
        var q = new QueryCheck();
        var take = q.Limit(nameof(limit), limit, options.MaxLimit);
        if (q.Problem() is { } problem)
        {
            return problem;
        }

        return TypedResults.Ok(Select(store.QueryBatchRunsAsync(take, cancellationToken), BatchRunJson.From));
    }

    /// <summary>200 with what changed; 422 with every reason when refused; 409 where this process cannot reload.</summary>
    private static async Task<IResult> ReloadAsync(WebOptions options, CancellationToken cancellationToken)
    {
        if (options.Reload is not { } reload)
        {
            return TypedResults.Problem("this process does not reload its pipeline", statusCode: StatusCodes.Status409Conflict);
        }

        var result = await reload(cancellationToken);
        return result.Applied ? TypedResults.Ok(result) : TypedResults.UnprocessableEntity(result);
    }

    private static async Task<IResult> Ready(PipelineMonitor monitor, CancellationToken cancellationToken)
    {
        var backends = await monitor.CheckBackendsAsync(cancellationToken);
        var down = backends.Where(b => b.Status != "up").ToList();
        return down.Count == 0
            ? TypedResults.Ok(new { status = "ready", backends })
            : TypedResults.Json(new { status = "not ready", backends }, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    private static async IAsyncEnumerable<TOut> Select<TIn, TOut>(IAsyncEnumerable<TIn> source, Func<TIn, TOut> map)
    {
        await foreach (var item in source)
        {
            yield return map(item);
        }
    }

    /// <summary>Collects every bad query parameter, so one 400 names them all.</summary>
    private sealed class QueryCheck
    {
        private readonly Dictionary<string, string[]> _errors = [];

        public void Fail(string name, string message) => _errors[name] = [message];

        public void Required(string name, string? value)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                Fail(name, "is required");
            }
        }

        public long? Time(string name, string? value)
        {
            if (value is null)
            {
                return null;
            }

            if (EventTime.TryParse(value, out var ms))
            {
                return ms;
            }

            Fail(name, $"'{value}' is not an ISO-8601 time (2026-01-02T14:30:00Z), a date or epoch milliseconds");
            return null;
        }

        /// <summary>A switch: <c>true</c> or <c>false</c> (any case); absent is false.</summary>
        public bool Flag(string name, string? value)
        {
            if (value is null || value.Equals("false", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            if (value.Equals("true", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            Fail(name, $"'{value}' is neither true nor false");
            return false;
        }

        /// <summary>A page size: a whole number from 1; above the cap it is capped.</summary>
        public int Limit(string name, string? value, int cap)
        {
            if (value is null)
            {
                return Math.Min(DefaultLimit, cap);
            }

            if (!decimal.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var limit) || limit < 1)
            {
                Fail(name, $"'{value}' is not a whole number of at least 1");
                return 0;
            }

            return (int)Math.Min(limit, cap);
        }

        public ValidationProblem? Problem() => _errors.Count == 0 ? null : TypedResults.ValidationProblem(_errors);
    }
}
