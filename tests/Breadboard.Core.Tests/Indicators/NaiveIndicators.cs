using Breadboard.Core.Model;
using Breadboard.Core.Pipeline.Indicators;

namespace Breadboard.Core.Tests.Indicators;

/// <summary>
/// The indicators of issue 20, written as plainly as their definitions read: every value recomputed from the whole
/// series, with loops, no state carried between bars. The engine's incremental kinds are tested against this.
/// </summary>
public static class NaiveIndicators
{
    /// <summary>Every value series of the indicators, by value name (<c>sma_fast</c>, <c>bb.upper</c>), over one symbol's bars of one window.</summary>
    public static Dictionary<string, double[]> Compute(IReadOnlyList<IndicatorDefinition> indicators, IReadOnlyList<Bar> bars)
    {
        var series = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var indicator in indicators)
        {
            // The indicator sees only the bars on which its input is defined; on the others it is undefined.
            var input = indicator.Of is null ? bars.Select(_ => 0.0).ToArray()
                : BarFields.TryParse(indicator.Of, out var field) ? bars.Select(b => field.Of(b)).ToArray()
                : series[indicator.Of];
            var taken = Enumerable.Range(0, bars.Count).Where(i => !double.IsNaN(input[i])).ToArray();
            var xs = taken.Select(i => input[i]).ToArray();
            var takenBars = taken.Select(i => bars[i]).ToArray();
            var outputs = indicator.Kind.Name switch
            {
                "sma" => [Sma(xs, indicator.Period)],
                "ema" => [Ema(xs, indicator.Period)],
                "rsi" => [Rsi(xs, indicator.Period)],
                "zscore" => [ZScore(xs, indicator.Period)],
                "bollinger" => Bollinger(xs, indicator.Period, indicator.K),
                "atr" => [Atr(takenBars, indicator.Period)],
                _ => throw new NotSupportedException(indicator.Kind.Name),
            };
            var names = indicator.ValueNames().ToArray();
            for (var k = 0; k < names.Length; k++)
            {
                var values = Enumerable.Repeat(double.NaN, bars.Count).ToArray();
                for (var j = 0; j < taken.Length; j++)
                {
                    values[taken[j]] = outputs[k][j];
                }

                series[names[k]] = values;
            }
        }

        return series;
    }

    public static double Mean(double[] xs, int from, int count)
    {
        var sum = 0.0;
        for (var k = from; k < from + count; k++)
        {
            sum += xs[k];
        }

        return sum / count;
    }

    public static double PopulationDeviation(double[] xs, int from, int count)
    {
        var mean = Mean(xs, from, count);
        var sum = 0.0;
        for (var k = from; k < from + count; k++)
        {
            sum += (xs[k] - mean) * (xs[k] - mean);
        }

        return Math.Sqrt(sum / count);
    }

    public static double[] Sma(double[] xs, int n) =>
        [.. Enumerable.Range(0, xs.Length).Select(i => i + 1 < n ? double.NaN : Mean(xs, i - n + 1, n))];

    public static double[] Ema(double[] xs, int n)
    {
        var alpha = 2.0 / (n + 1);
        return [.. Enumerable.Range(0, xs.Length).Select(i => EmaAt(i))];

        double EmaAt(int i) =>
            i < n - 1 ? double.NaN
            : i == n - 1 ? Mean(xs, 0, n)
            : (alpha * xs[i]) + ((1 - alpha) * EmaAt(i - 1));
    }

    public static double[] Rsi(double[] xs, int n)
    {
        var result = new double[xs.Length];
        for (var i = 0; i < xs.Length; i++)
        {
            if (i < n)
            {
                result[i] = double.NaN;
                continue;
            }

            // From scratch: the first averages are plain means of the first n changes, then Wilder's smoothing.
            double gain = 0, loss = 0;
            for (var j = 1; j <= n; j++)
            {
                gain += Math.Max(xs[j] - xs[j - 1], 0);
                loss += Math.Max(xs[j - 1] - xs[j], 0);
            }

            gain /= n;
            loss /= n;
            for (var j = n + 1; j <= i; j++)
            {
                gain = ((gain * (n - 1)) + Math.Max(xs[j] - xs[j - 1], 0)) / n;
                loss = ((loss * (n - 1)) + Math.Max(xs[j - 1] - xs[j], 0)) / n;
            }

            result[i] = loss == 0 ? (gain > 0 ? 100 : 50) : 100 - (100 / (1 + (gain / loss)));
        }

        return result;
    }

    public static double[] ZScore(double[] xs, int n) =>
        [.. Enumerable.Range(0, xs.Length).Select(i =>
        {
            if (i < n)
            {
                return double.NaN;
            }

            var deviation = PopulationDeviation(xs, i - n, n);
            return deviation == 0 ? double.NaN : (xs[i] - Mean(xs, i - n, n)) / deviation;
        })];

    public static double[][] Bollinger(double[] xs, int n, double k)
    {
        var middle = Sma(xs, n);
        var upper = new double[xs.Length];
        var lower = new double[xs.Length];
        for (var i = 0; i < xs.Length; i++)
        {
            var deviation = i + 1 < n ? double.NaN : PopulationDeviation(xs, i - n + 1, n);
            upper[i] = middle[i] + (k * deviation);
            lower[i] = middle[i] - (k * deviation);
        }

        return [upper, middle, lower];
    }

    public static double[] Atr(IReadOnlyList<Bar> bars, int n)
    {
        var ranges = Enumerable.Range(0, bars.Count).Select(i => i == 0
            ? bars[0].High - bars[0].Low
            : Math.Max(bars[i].High - bars[i].Low, Math.Max(Math.Abs(bars[i].High - bars[i - 1].Close), Math.Abs(bars[i].Low - bars[i - 1].Close)))).ToArray();
        var result = new double[bars.Count];
        for (var i = 0; i < bars.Count; i++)
        {
            if (i < n - 1)
            {
                result[i] = double.NaN;
                continue;
            }

            var atr = Mean(ranges, 0, n);
            for (var j = n; j <= i; j++)
            {
                atr = ((atr * (n - 1)) + ranges[j]) / n;
            }

            result[i] = atr;
        }

        return result;
    }
}
