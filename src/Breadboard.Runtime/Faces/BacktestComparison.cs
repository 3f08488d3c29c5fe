using Breadboard.Core.Model;

namespace Breadboard.Runtime.Faces;

/// <summary>One rule and symbol of a comparison: alerts under the running definition (before) and the proposed one (after).</summary>
/// <param name="OnlyBefore">Alerts (by id: rule, symbol, window, window start) only the running definition fires.</param>
public sealed record BacktestDifference(string Rule, string Symbol, int Before, int After, int OnlyBefore, int OnlyAfter);

/// <summary>The alerts of two backtests of the same history, compared per rule and symbol.</summary>
public static class BacktestComparison
{
    /// <summary>Every (rule, symbol) with an alert in either run, ordered by rule, then symbol (ordinal).</summary>
    public static IReadOnlyList<BacktestDifference> Compare(IReadOnlyList<Alert> before, IReadOnlyList<Alert> after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var beforeIds = before.Select(a => a.Id).ToHashSet(StringComparer.Ordinal);
        var afterIds = after.Select(a => a.Id).ToHashSet(StringComparer.Ordinal);
        var rows = new SortedDictionary<(string Rule, string Symbol), int[]>(OrdinalPairs.Instance);
        foreach (var a in before)
        {
            var counts = Row(rows, a);
            counts[0]++;
            counts[2] += afterIds.Contains(a.Id) ? 0 : 1;
        }

        foreach (var a in after)
        {
            var counts = Row(rows, a);
            counts[1]++;
            counts[3] += beforeIds.Contains(a.Id) ? 0 : 1;
        }

        return [.. rows.Select(r => new BacktestDifference(r.Key.Rule, r.Key.Symbol, r.Value[0], r.Value[1], r.Value[2], r.Value[3]))];
    }

    // Counts: before, after, only before, only after.
    private static int[] Row(SortedDictionary<(string Rule, string Symbol), int[]> rows, Alert alert)
    {
        if (!rows.TryGetValue((alert.Rule, alert.Symbol), out var counts))
        {
            rows[(alert.Rule, alert.Symbol)] = counts = new int[4];
        }

        return counts;
    }

    private sealed class OrdinalPairs : IComparer<(string Rule, string Symbol)>
    {
        public static readonly OrdinalPairs Instance = new();

        public int Compare((string Rule, string Symbol) x, (string Rule, string Symbol) y)
        {
            var c = string.CompareOrdinal(x.Rule, y.Rule);
            return c != 0 ? c : string.CompareOrdinal(x.Symbol, y.Symbol);
        }
    }
}
