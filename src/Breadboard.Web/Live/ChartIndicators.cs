using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Indicators;

namespace Breadboard.Web.Live;

/// <summary>
/// What the dashboard draws of the pipeline's indicators: per window, which indicators, the names of their values,
/// where each is drawn, and how many earlier bars a history needs to warm them up. The values themselves always
/// come from <see cref="IndicatorLayout.Update"/>, the code the engine runs; nothing here computes an indicator.
/// </summary>
internal sealed class ChartIndicators
{
    private readonly Dictionary<string, WindowIndicators> _windows = new(StringComparer.Ordinal);

    public ChartIndicators(PipelineDefinition pipeline)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        Pipeline = pipeline;
        Layout = pipeline.IndicatorLayout;
        var warmups = new int[Layout.Indicators.Count];
        for (var i = 0; i < Layout.Indicators.Count; i++)
        {
            var indicator = Layout.Indicators[i];
            warmups[i] = OwnWarmup(indicator) + (indicator.Of is { } of && Layout.TryFind(of, out var slot) ? warmups[IndexOf(slot)] : 0);
        }

        foreach (var window in pipeline.Windows)
        {
            var indices = Layout.OfWindow(window.Name);
            if (indices.Length == 0)
            {
                continue;
            }

            var values = new List<ChartValue>();
            var warmup = 0;
            foreach (var i in indices)
            {
                var indicator = Layout.Indicators[i];
                warmup = Math.Max(warmup, warmups[i]);
                var names = indicator.ValueNames().ToList();
                for (var k = 0; k < names.Count; k++)
                {
                    values.Add(new ChartValue(names[k], Layout.Offset(i) + k));
                }
            }

            _windows[window.Name] = new WindowIndicators(indices, [.. values], warmup);
        }
    }

    public PipelineDefinition Pipeline { get; }

    public IndicatorLayout Layout { get; }

    /// <summary>The indicators of <paramref name="window"/>, or null when it has none.</summary>
    public WindowIndicators? Of(string window) => _windows.GetValueOrDefault(window);

    /// <summary>
    /// Where the dashboard draws an indicator: <c>price</c> (over the candles: a level in the price's unit, such as
    /// sma, ema or bollinger of close), <c>volume</c> (over the volume bars), <c>rsi</c> (its own 0–100 pane) or
    /// <c>lower</c> (one pane under the volume for the rest: zscore, atr, anything of trades).
    /// </summary>
    public string Pane(int index)
    {
        var indicator = Layout.Indicators[index];
        var unit = Layout.Unit(Layout.Offset(index));
        return unit switch
        {
            ValueUnit.Index => "rsi",
            ValueUnit.Price when indicator.Kind.IsLevel => "price",
            ValueUnit.Volume => "volume",
            _ => "lower",
        };
    }

    /// <summary>What indicator <paramref name="index"/>'s values are measured in: <c>price</c>, <c>index</c>, <c>sigma</c>…</summary>
    public string Unit(int index) => ValueUnits.Name(Layout.Unit(Layout.Offset(index)));

    /// <summary>
    /// The window's indicator values on each of <paramref name="shown"/>, computed over <paramref name="warmup"/>
    /// (the bars before them, oldest first) and then <paramref name="shown"/> by the engine's own code.
    /// </summary>
    /// <returns>Per shown bar, the values in <see cref="WindowIndicators.Values"/> order; NaN where undefined.</returns>
    public double[][] Compute(WindowIndicators window, IReadOnlyList<Bar> warmup, IReadOnlyList<Bar> shown)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(warmup);
        ArgumentNullException.ThrowIfNull(shown);
        var symbol = Layout.CreateSymbol();
        foreach (var bar in warmup)
        {
            Layout.Update(window.Indices, bar, symbol);
        }

        var result = new double[shown.Count][];
        for (var b = 0; b < shown.Count; b++)
        {
            Layout.Update(window.Indices, shown[b], symbol);
            result[b] = window.Read(symbol);
        }

        return result;
    }

    private static int OwnWarmup(IndicatorDefinition indicator) => (int)Math.Min(indicator.Kind.WarmupBars(indicator), int.MaxValue / 4);

    private int IndexOf(int slot)
    {
        var owner = Layout.OwnerOf(slot);
        for (var i = 0; i < Layout.Indicators.Count; i++)
        {
            if (ReferenceEquals(Layout.Indicators[i], owner))
            {
                return i;
            }
        }

        throw new InvalidOperationException($"no indicator owns slot {slot}");
    }
}

/// <summary>The indicators of one window, as <see cref="ChartIndicators"/> reads them.</summary>
/// <param name="Indices">The indicators' indices in the layout, for <see cref="IndicatorLayout.Update"/>.</param>
/// <param name="Values">Every value the window's indicators give, in layout order: <c>sma_fast</c>, <c>bb.upper</c>…</param>
/// <param name="Warmup">Bars before the first shown one that a history reads, so that its first values are the engine's.</param>
internal sealed record WindowIndicators(int[] Indices, ChartValue[] Values, int Warmup)
{
    /// <summary>The window's values on the symbol's latest bar, in <see cref="Values"/> order.</summary>
    public double[] Read(SymbolIndicators symbol)
    {
        ArgumentNullException.ThrowIfNull(symbol);
        var values = new double[Values.Length];
        for (var v = 0; v < values.Length; v++)
        {
            values[v] = symbol.Values[Values[v].Slot];
        }

        return values;
    }

    /// <summary>The values as JSON wants them: by name.</summary>
    public Dictionary<string, double> Named(double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var named = new Dictionary<string, double>(Values.Length, StringComparer.Ordinal);
        for (var v = 0; v < values.Length; v++)
        {
            named[Values[v].Name] = values[v];
        }

        return named;
    }
}

/// <summary>One value of an indicator: its name (<c>bb.upper</c>) and its slot in a symbol's value array.</summary>
internal readonly record struct ChartValue(string Name, int Slot);
