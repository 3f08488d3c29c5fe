namespace Breadboard.Core.Pipeline.Indicators;

/// <summary>
/// One indicator of the pipeline: computed per symbol over the closed bars of <see cref="Window"/>, in window_start
/// order; its <see cref="IndicatorKind"/> (sma, ema, rsi, zscore, bollinger, atr) says how.
/// </summary>
/// <param name="Name">What rules call it: <c>sma_fast</c>; a band's lines are <c>bb.upper</c>, <c>bb.middle</c>, <c>bb.lower</c>.</param>
/// <param name="Of">
/// What it is computed over: a bar field (<c>close</c>) or an indicator defined before it in the same window
/// (<c>sma_fast</c>, <c>bb.upper</c>); null for kinds that read the bar themselves (atr).
/// </param>
/// <param name="Period">N: how many bars it looks at.</param>
/// <param name="K">Bollinger's band width in standard deviations; 0 for the other kinds.</param>
public sealed record IndicatorDefinition(string Name, IndicatorKind Kind, string Window, string? Of, int Period, double K)
{
    /// <summary>The names rules use for its values: <c>sma_fast</c>, or <c>bb.upper</c>, <c>bb.middle</c>, <c>bb.lower</c>.</summary>
    public IEnumerable<string> ValueNames() =>
        Kind.Outputs.Count == 1 ? [Name] : Kind.Outputs.Select(o => $"{Name}.{o}");

    public static IndicatorDefinition Sma(string name, string window, string of, int period) => new(name, IndicatorKind.Sma, window, of, period, 0);

    public static IndicatorDefinition Ema(string name, string window, string of, int period) => new(name, IndicatorKind.Ema, window, of, period, 0);

    public static IndicatorDefinition Rsi(string name, string window, string of, int period) => new(name, IndicatorKind.Rsi, window, of, period, 0);

    public static IndicatorDefinition ZScore(string name, string window, string of, int period) => new(name, IndicatorKind.ZScore, window, of, period, 0);

    public static IndicatorDefinition Bollinger(string name, string window, string of, int period, double k) => new(name, IndicatorKind.Bollinger, window, of, period, k);

    public static IndicatorDefinition Atr(string name, string window, int period) => new(name, IndicatorKind.Atr, window, null, period, 0);
}
