using System.Runtime.CompilerServices;
using Breadboard.Batch.Providers;
using Breadboard.Core.Model;

namespace Breadboard.Batch.Tests.Steps;

/// <summary>A provider serving fixed bars per symbol, counting calls, optionally failing for one symbol.</summary>
internal sealed class ListProvider(IReadOnlyDictionary<string, List<Bar>> bars) : IHistoricalProvider
{
    public string Name => "list";

    public List<string> Calls { get; } = [];

    public string? FailFor { get; set; }

    public async IAsyncEnumerable<Bar> FetchAsync(string symbol, long fromMs, long toMs, BarInterval interval, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Calls.Add(symbol);
        await Task.Yield();
        if (symbol == FailFor)
        {
            throw new HistoricalProviderException($"list: {symbol} failed");
        }

        foreach (var bar in bars[symbol].Where(b => b.WindowStart >= fromMs && b.WindowStart < toMs))
        {
            yield return bar;
        }
    }

    /// <summary>Clean 1m bars: a gentle walk, every minute from <paramref name="from"/> for <paramref name="count"/> minutes.</summary>
    public static List<Bar> Minutes(string symbol, long from, int count, double start = 100)
    {
        var list = new List<Bar>(count);
        var price = start;
        for (var i = 0; i < count; i++)
        {
            var open = price;
            price += (i % 7 - 3) * 0.01;
            var close = price;
            list.Add(new Bar(symbol, "1m", from + (i * 60_000L), from + ((i + 1) * 60_000L), open, Math.Max(open, close) + 0.02, Math.Min(open, close) - 0.02, close, 10 + (i % 5), null, 3));
        }

        return list;
    }
}
