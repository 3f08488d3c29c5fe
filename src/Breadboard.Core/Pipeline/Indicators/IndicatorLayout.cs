using Breadboard.Core.Model;

namespace Breadboard.Core.Pipeline.Indicators;

/// <summary>
/// Where each indicator's values sit in a symbol's value array, what each is computed over, and which indicators
/// each window updates: the one plan the engine, the expression compiler and the dashboard share.
/// </summary>
/// <remarks>
/// Values are laid out in definition order, one slot per output (a bollinger band takes three: upper, middle,
/// lower), so a slot depends on the indicator list alone and a rule compiled against it runs in any engine.
/// </remarks>
public sealed class IndicatorLayout
{
    private readonly Dictionary<string, int> _slots = new(StringComparer.Ordinal);
    private readonly int[] _offset;
    private readonly int[] _source;
    private readonly ValueUnit[] _units;

    public IndicatorLayout(IReadOnlyList<IndicatorDefinition> indicators)
    {
        ArgumentNullException.ThrowIfNull(indicators);
        Indicators = indicators;
        _offset = new int[indicators.Count];
        _source = new int[indicators.Count];
        var units = new List<ValueUnit>();
        for (var i = 0; i < indicators.Count; i++)
        {
            var indicator = indicators[i];
            _offset[i] = units.Count;
            var of = ValueUnit.Price;
            if (indicator.Of is { } source)
            {
                if (BarFields.TryParse(source, out var field))
                {
                    _source[i] = -1 - (int)field;
                    of = field.Unit();
                }
                else if (_slots.TryGetValue(source, out var slot))
                {
                    _source[i] = slot;
                    of = units[slot];
                }
                else
                {
                    throw new ArgumentException($"indicator '{indicator.Name}' is computed over '{source}', which is neither a bar field nor an indicator defined before it", nameof(indicators));
                }
            }

            var names = indicator.ValueNames().ToList();
            for (var k = 0; k < names.Count; k++)
            {
                _slots[names[k]] = units.Count;
                units.Add(indicator.Kind.Unit(of));
            }
        }

        _units = [.. units];
        Width = units.Count;
    }

    public static IndicatorLayout Empty { get; } = new([]);

    public IReadOnlyList<IndicatorDefinition> Indicators { get; }

    /// <summary>Slots in a symbol's value array: every output of every indicator.</summary>
    public int Width { get; }

    /// <summary>The slot of <c>sma_fast</c> or <c>bb.upper</c>; false when no indicator has that value.</summary>
    public bool TryFind(string valueName, out int slot) => _slots.TryGetValue(valueName, out slot);

    /// <summary>The first slot of indicator <paramref name="index"/>.</summary>
    public int Offset(int index) => _offset[index];

    /// <summary>What the value in <paramref name="slot"/> is measured in.</summary>
    public ValueUnit Unit(int slot) => _units[slot];

    /// <summary>The indicator that owns <paramref name="slot"/>.</summary>
    public IndicatorDefinition OwnerOf(int slot)
    {
        for (var i = Indicators.Count - 1; i >= 0; i--)
        {
            if (_offset[i] <= slot)
            {
                return Indicators[i];
            }
        }

        throw new ArgumentOutOfRangeException(nameof(slot));
    }

    /// <summary>Fresh per-symbol state for every indicator.</summary>
    public SymbolIndicators CreateSymbol()
    {
        var states = new IndicatorState[Indicators.Count];
        for (var i = 0; i < states.Length; i++)
        {
            states[i] = Indicators[i].Kind.CreateState(Indicators[i]);
        }

        var values = new double[Width];
        Array.Fill(values, double.NaN);
        return new SymbolIndicators(states, values);
    }

    /// <summary>
    /// A symbol's state under this layout from its state under <paramref name="previous"/>: indicator i takes the
    /// state and latest values of the previous layout's indicator <c>from[i]</c>, or starts afresh where that is −1.
    /// </summary>
    public SymbolIndicators CarryOver(SymbolIndicators? state, IndicatorLayout previous, IReadOnlyList<int> from)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(from);
        var fresh = CreateSymbol();
        if (state is null)
        {
            return fresh;
        }

        for (var i = 0; i < Indicators.Count; i++)
        {
            if (from[i] is var j and >= 0)
            {
                fresh.States[i] = state.States[j];
                state.Values.AsSpan(previous._offset[j], Indicators[i].Kind.Outputs.Count).CopyTo(fresh.Values.AsSpan(_offset[i]));
            }
        }

        return fresh;
    }

    /// <summary>
    /// Takes one closed bar of the symbol into every indicator of its window, in definition order. An indicator
    /// whose input is undefined on this bar (the vwap of a bar without volume, an indicator still warming up)
    /// skips the bar: its state is unchanged and its values are undefined (NaN) on it.
    /// </summary>
    /// <param name="window">The indices of the indicators of the bar's window, from <see cref="OfWindow"/>.</param>
    public void Update(ReadOnlySpan<int> window, Bar bar, SymbolIndicators symbol)
    {
        ArgumentNullException.ThrowIfNull(symbol);
        var values = symbol.Values;
        foreach (var i in window)
        {
            var source = _source[i];
            var x = Indicators[i].Of is null ? 0 : source >= 0 ? values[source] : ((BarField)(-1 - source)).Of(bar);
            var outputs = values.AsSpan(_offset[i], Indicators[i].Kind.Outputs.Count);
            if (double.IsNaN(x))
            {
                outputs.Fill(double.NaN);
                continue;
            }

            symbol.States[i].Update(x, bar, outputs);
        }
    }

    /// <summary>The indices of the indicators computed over <paramref name="window"/>'s bars, in definition order.</summary>
    public int[] OfWindow(string window)
    {
        var result = new List<int>();
        for (var i = 0; i < Indicators.Count; i++)
        {
            if (Indicators[i].Window == window)
            {
                result.Add(i);
            }
        }

        return [.. result];
    }
}

/// <summary>One symbol's indicator states and their values on its latest bar of each window.</summary>
public sealed class SymbolIndicators(IndicatorState[] states, double[] values)
{
    internal IndicatorState[] States { get; } = states;

    /// <summary>Per slot of the <see cref="IndicatorLayout"/>: the value on the symbol's latest bar of the indicator's window; NaN when undefined.</summary>
    public double[] Values { get; } = values;

    /// <summary>Writes every indicator's state and the current values, for a checkpoint.</summary>
    public void Write(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        foreach (var state in States)
        {
            state.Write(writer);
        }

        foreach (var v in Values)
        {
            writer.Write(v);
        }
    }

    /// <summary>Reads what <see cref="Write"/> wrote into this fresh state.</summary>
    public void Read(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        foreach (var state in States)
        {
            state.Read(reader);
        }

        for (var k = 0; k < Values.Length; k++)
        {
            Values[k] = reader.ReadDouble();
        }
    }
}
