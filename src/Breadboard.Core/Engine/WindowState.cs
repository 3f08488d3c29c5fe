namespace Breadboard.Core.Engine;

/// <summary>The running aggregates of one open window of one symbol.</summary>
/// <remarks>
/// Open/close follow the smallest/largest event time with ties broken by arrival: a later tick with the same
/// ts as the current open does not replace it, a later tick with the same ts as the current close does.
/// </remarks>
internal sealed class WindowState
{
    public required SymbolState Owner { get; init; }

    public required int WindowIndex { get; init; }

    public long Start;
    public long End;

    // The key under which this window's close timer sits in the engine's queue; a timer whose key no longer
    // matches is stale (the session grew or merged) and is re-armed or skipped when it pops.
    public long TimerStart;
    public long TimerEnd;

    public bool Closed;

    public long OpenTs = long.MaxValue;
    public long CloseTs = long.MinValue;
    public double Open;
    public double High = double.NegativeInfinity;
    public double Low = double.PositiveInfinity;
    public double Close;
    public double Volume;
    public double PriceVolume;
    public long Trades;

    public void Add(long ts, double price, double volume)
    {
        if (ts < OpenTs)
        {
            OpenTs = ts;
            Open = price;
        }

        if (ts >= CloseTs)
        {
            CloseTs = ts;
            Close = price;
        }

        if (price > High)
        {
            High = price;
        }

        if (price < Low)
        {
            Low = price;
        }

        Volume += volume;
        PriceVolume += price * volume;
        Trades++;
    }

    /// <summary>Folds another session of the same symbol into this one; the two never share an event time.</summary>
    public void Merge(WindowState other)
    {
        if (other.OpenTs < OpenTs)
        {
            OpenTs = other.OpenTs;
            Open = other.Open;
        }

        if (other.CloseTs > CloseTs)
        {
            CloseTs = other.CloseTs;
            Close = other.Close;
        }

        High = Math.Max(High, other.High);
        Low = Math.Min(Low, other.Low);
        Volume += other.Volume;
        PriceVolume += other.PriceVolume;
        Trades += other.Trades;
        Start = Math.Min(Start, other.Start);
        End = Math.Max(End, other.End);
    }
}
