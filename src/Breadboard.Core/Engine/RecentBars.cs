using Breadboard.Core.Model;

namespace Breadboard.Core.Engine;

/// <summary>
/// A symbol's last closed bars of one window, oldest first, up to a capacity: what a rule or indicator that a live
/// reload adds warms up from (<see cref="WindowEngine.Reconfigure"/>).
/// </summary>
internal sealed class RecentBars
{
    private Bar[] _bars = [];
    private int _start;

    public int Count { get; private set; }

    public void Add(Bar bar, int capacity)
    {
        if (_bars.Length != capacity)
        {
            Resize(capacity);
        }

        if (capacity == 0)
        {
            return;
        }

        if (Count < capacity)
        {
            _bars[(_start + Count++) % capacity] = bar;
        }
        else
        {
            _bars[_start] = bar;
            _start = (_start + 1) % capacity;
        }
    }

    /// <summary>The bars oldest first.</summary>
    public IEnumerable<Bar> OldestFirst()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return _bars[(_start + i) % _bars.Length];
        }
    }

    /// <summary>Keeps the latest <paramref name="capacity"/> bars.</summary>
    private void Resize(int capacity)
    {
        var kept = OldestFirst().Skip(Math.Max(0, Count - capacity)).ToArray();
        _bars = new Bar[capacity];
        kept.CopyTo(_bars, 0);
        (_start, Count) = (0, kept.Length);
    }
}
