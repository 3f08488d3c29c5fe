using Breadboard.Core.Model;

namespace Breadboard.Core.Engine;

/// <summary>Everything the engine keeps for one symbol: its open windows, recent trade ids and rule history.</summary>
internal sealed class SymbolState
{
    public SymbolState(string symbol, int windowCount, int ruleCount)
    {
        Symbol = symbol;
        Open = new List<WindowState>[windowCount];
        for (var i = 0; i < windowCount; i++)
        {
            Open[i] = new List<WindowState>(8);
        }

        History = new VolumeHistory?[ruleCount];
    }

    public string Symbol { get; }

    /// <summary>Open windows per window definition, ordered by start (sessions never overlap).</summary>
    public List<WindowState>[] Open { get; }

    /// <summary>Trade id → event time of the tick that carried it.</summary>
    public Dictionary<TradeId, long> Seen { get; } = [];

    /// <summary>Trade ids in arrival order, so expired ones can be dropped from <see cref="Seen"/> cheaply.</summary>
    public Queue<(TradeId Id, long Ts)> SeenOrder { get; } = new();

    /// <summary>Per rule index: the volumes of the previous bars, for volume-surge rules.</summary>
    public VolumeHistory?[] History { get; }
}

/// <summary>The volumes of a symbol's last N bars of one window, oldest first.</summary>
internal sealed class VolumeHistory(int capacity)
{
    private readonly double[] _values = new double[capacity];
    private int _next;

    public int Count { get; private set; }

    public int Capacity => _values.Length;

    public void Add(double volume)
    {
        _values[_next] = volume;
        _next = (_next + 1) % _values.Length;
        Count = Math.Min(Count + 1, _values.Length);
    }

    /// <summary>Mean of the held volumes, summed oldest first so the result does not depend on where the ring starts.</summary>
    public double Mean()
    {
        var sum = 0.0;
        var start = Count < _values.Length ? 0 : _next;
        for (var k = 0; k < Count; k++)
        {
            sum += _values[(start + k) % _values.Length];
        }

        return sum / Count;
    }

    public IEnumerable<double> OldestFirst()
    {
        var start = Count < _values.Length ? 0 : _next;
        for (var k = 0; k < Count; k++)
        {
            yield return _values[(start + k) % _values.Length];
        }
    }
}
