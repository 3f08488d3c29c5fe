namespace Breadboard.Core.Model;

/// <summary>The aggregates of one symbol's ticks over one window: the engine's main output.</summary>
/// <param name="Window">Name of the window in the pipeline definition (1m, 5m, session, ...).</param>
/// <param name="WindowStart">Inclusive start, epoch ms UTC.</param>
/// <param name="WindowEnd">Exclusive end, epoch ms UTC.</param>
/// <param name="Vwap">Σ(price·volume)/Σ(volume); null when the window's volume is zero.</param>
/// <param name="Trades">Number of ticks in the window.</param>
public sealed record Bar(
    string Symbol,
    string Window,
    long WindowStart,
    long WindowEnd,
    double Open,
    double High,
    double Low,
    double Close,
    double Volume,
    double? Vwap,
    long Trades);
