using System.Globalization;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;

namespace Breadboard.Batch.Validation;

/// <summary>How strict validation is.</summary>
public sealed record ValidationOptions
{
    public static ValidationOptions Default { get; } = new();

    /// <summary>A close-to-close move beyond this many (robust) standard deviations of the symbol's moves is an outlier.</summary>
    public double OutlierSigmas { get; init; } = 8;

    /// <summary>Report missing bars as warnings instead of errors (illiquid symbols have minutes without trades).</summary>
    public bool AllowGaps { get; init; }
}

/// <summary>One problem found in staged bars.</summary>
/// <param name="Kind"><c>schema</c>, <c>duplicate</c>, <c>gap</c>, <c>outlier</c>, <c>ohlc</c> or <c>volume</c>.</param>
/// <param name="Symbol">The symbol, or the file for an unreadable line.</param>
/// <param name="At">The bar's start (ISO), or where a gap begins.</param>
/// <param name="Detail">What is wrong, in words.</param>
/// <param name="Error">False for a warning (a gap with <see cref="ValidationOptions.AllowGaps"/>).</param>
public sealed record ValidationIssue(string Kind, string Symbol, string? At, string Detail, bool Error = true);

/// <summary>The outcome of validating one run's staged bars, as <c>report.json</c> keeps it.</summary>
public sealed record ValidationReport(string RunId, long Bars, int Symbols, IReadOnlyList<ValidationIssue> Issues)
{
    /// <summary>Issues kept in the report per kind; the counts stay exact.</summary>
    public const int MaxIssuesPerKind = 100;

    public bool Ok => !Issues.Any(i => i.Error);

    public IReadOnlyDictionary<string, int> Counts { get; init; } = new Dictionary<string, int>();

    /// <summary>A few readable lines: the verdict, then each kind with its count and first example.</summary>
    public string Summary()
    {
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"validate {RunId}: {Bars:N0} bars of {Symbols} symbol(s): {(Ok ? "ok" : "BAD DATA")}{(Counts.Count == 0 ? "" : $", {Counts.Values.Sum():N0} problem(s)")}"),
        };
        foreach (var (kind, count) in Counts.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            var first = Issues.First(i => i.Kind == kind);
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"  {kind}: {count:N0}{(first.Error ? "" : " (warning)")}, first: {first.Symbol}{(first.At is null ? "" : " " + first.At)}: {first.Detail}"));
        }

        return string.Join('\n', lines);
    }
}

/// <summary>
/// Checks one symbol's bars, in the order staged: schema is checked while reading (see the steps), the rest here:
/// duplicates (two bars with the same start), gaps (expected starts with no bar, against market hours for stocks
/// and around the clock for crypto), outliers (close-to-close log moves beyond N robust σ), OHLC consistency
/// (low ≤ open, close ≤ high) and non-negative volume.
/// </summary>
public static class BarValidator
{
    public static IEnumerable<ValidationIssue> Check(string symbol, IReadOnlyList<Bar> bars, long from, long to, long intervalMs, ValidationOptions options)
    {
        ArgumentNullException.ThrowIfNull(bars);
        ArgumentNullException.ThrowIfNull(options);
        var seen = new HashSet<long>();
        foreach (var bar in bars)
        {
            var at = EventTime.ToIso(bar.WindowStart);
            if (!seen.Add(bar.WindowStart))
            {
                yield return new ValidationIssue("duplicate", symbol, at, "a second bar with this start");
            }

            if (!(bar.Low <= bar.Open && bar.Low <= bar.Close && bar.Open <= bar.High && bar.Close <= bar.High && bar.Low > 0))
            {
                yield return new ValidationIssue("ohlc", symbol, at, string.Create(CultureInfo.InvariantCulture, $"open {bar.Open} high {bar.High} low {bar.Low} close {bar.Close}: needs 0 < low ≤ open, close ≤ high"));
            }

            if (!(bar.Volume >= 0))
            {
                yield return new ValidationIssue("volume", symbol, at, string.Create(CultureInfo.InvariantCulture, $"volume {bar.Volume} is negative"));
            }
        }

        foreach (var gap in Gaps(symbol, seen, from, to, intervalMs))
        {
            yield return gap with { Error = !options.AllowGaps };
        }

        foreach (var outlier in Outliers(symbol, bars, options.OutlierSigmas))
        {
            yield return outlier;
        }
    }

    /// <summary>Runs of expected starts without a bar, one issue per run.</summary>
    private static IEnumerable<ValidationIssue> Gaps(string symbol, HashSet<long> present, long from, long to, long intervalMs)
    {
        long? runStart = null;
        long missing = 0, last = 0;
        var first = from + ((intervalMs - (from % intervalMs)) % intervalMs); // the first aligned start
        for (var start = first; start < to; start += intervalMs)
        {
            if (MarketHours.IsTrading(symbol, start) && !present.Contains(start))
            {
                runStart ??= start;
                missing++;
                last = start;
                continue;
            }

            if (runStart is { } s && MarketHours.IsTrading(symbol, start))
            {
                yield return Gap(symbol, s, last + intervalMs, missing);
                runStart = null;
                missing = 0;
            }
        }

        if (runStart is { } open)
        {
            yield return Gap(symbol, open, last + intervalMs, missing);
        }
    }

    private static ValidationIssue Gap(string symbol, long start, long end, long missing) =>
        new("gap", symbol, EventTime.ToIso(start), string.Create(CultureInfo.InvariantCulture, $"{missing:N0} bar(s) missing until {EventTime.ToIso(end)}"));

    /// <summary>Moves far outside the symbol's usual ones. σ is 1.4826 × the median absolute deviation, which one
    /// wild bar cannot inflate the way it inflates the standard deviation; with no spread at all nothing is flagged.</summary>
    private static IEnumerable<ValidationIssue> Outliers(string symbol, IReadOnlyList<Bar> bars, double sigmas)
    {
        var ordered = bars.Where(b => b.Close > 0).OrderBy(b => b.WindowStart).ToList();
        if (ordered.Count < 3)
        {
            yield break;
        }

        var moves = new double[ordered.Count - 1];
        for (var i = 1; i < ordered.Count; i++)
        {
            moves[i - 1] = Math.Log(ordered[i].Close / ordered[i - 1].Close);
        }

        var median = Median(moves);
        var sigma = 1.4826 * Median(moves.Select(m => Math.Abs(m - median)).ToArray());
        if (sigma == 0)
        {
            sigma = StandardDeviation(moves);
        }

        if (sigma == 0)
        {
            yield break;
        }

        for (var i = 0; i < moves.Length; i++)
        {
            var z = Math.Abs(moves[i] - median) / sigma;
            if (z > sigmas)
            {
                var bar = ordered[i + 1];
                yield return new ValidationIssue("outlier", symbol, EventTime.ToIso(bar.WindowStart), string.Create(CultureInfo.InvariantCulture, $"close {ordered[i].Close} → {bar.Close} is {z:F1} σ (limit {sigmas})"));
            }
        }
    }

    private static double Median(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static double StandardDeviation(double[] values)
    {
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Length);
    }
}
