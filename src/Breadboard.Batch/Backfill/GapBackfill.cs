using Breadboard.Batch.Providers;
using Breadboard.Batch.Validation;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Microsoft.Extensions.Logging;

namespace Breadboard.Batch.Backfill;

/// <summary>
/// Fills the hole a live feed leaves while it is disconnected: the provider's bars for every interval that lies
/// wholly between the last trade before the disconnect and the first after it, validated, then upserted into the
/// store, so no minute is silently missing. Intervals the live feed saw part of stay the live engine's.
/// </summary>
public sealed partial class GapBackfill(IHistoricalProvider provider, IMarketStore store, BarInterval interval, ILogger logger)
{
    /// <summary>Backfills <paramref name="symbol"/> between two trades (epoch ms); returns the bars written.</summary>
    /// <remarks>Bars that fail validation are not written: the gap is logged with the reason instead.</remarks>
    public async Task<long> FillAsync(string symbol, long lastTradeTs, long resumedTradeTs, CancellationToken cancellationToken = default)
    {
        var step = interval.Milliseconds;
        var from = (((lastTradeTs / step) + 1) * step); // the first interval starting after the last trade
        var to = resumedTradeTs / step * step;           // bars starting before this end by the resumed trade
        if (to <= from)
        {
            return 0;
        }

        var range = $"{EventTime.ToIso(from)} – {EventTime.ToIso(to)}";
        var bars = new List<Bar>();
        await foreach (var bar in provider.FetchAsync(symbol, from, to, interval, cancellationToken))
        {
            bars.Add(bar);
        }

        // Gaps inside the hole are the provider's too (no trades that minute): only errors in the bars stop the write.
        var problems = BarValidator.Check(symbol, bars, from, to, step, ValidationOptions.Default with { AllowGaps = true }).Where(i => i.Error).ToList();
        if (problems.Count > 0)
        {
            var first = $"{problems[0].Kind} at {problems[0].At}: {problems[0].Detail}";
            LogRefused(logger, symbol, range, problems.Count, first);
            return 0;
        }

        var batch = new StoreBatch();
        batch.Bars.AddRange(bars);
        if (bars.Count > 0)
        {
            await store.WriteAsync(batch, cancellationToken);
        }

        LogFilled(logger, symbol, range, bars.Count, provider.Name);

        return bars.Count;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "backfill {Symbol} {Range}: {Count} bars from {Provider}")]
    private static partial void LogFilled(ILogger logger, string symbol, string range, int count, string provider);

    [LoggerMessage(Level = LogLevel.Warning, Message = "backfill {Symbol} {Range}: not written, {Count} problem(s) in the provider's bars; first: {First}")]
    private static partial void LogRefused(ILogger logger, string symbol, string range, int count, string first);
}
