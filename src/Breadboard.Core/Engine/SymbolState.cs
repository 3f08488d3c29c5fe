using Breadboard.Core.Model;
using Breadboard.Core.Pipeline.Indicators;
using Breadboard.Core.Pipeline.Rules;

namespace Breadboard.Core.Engine;

/// <summary>Everything the engine keeps for one symbol: its open windows, recent trade ids and rule history.</summary>
internal sealed class SymbolState
{
    public SymbolState(string symbol, int windowCount, int ruleCount, SymbolIndicators? indicators)
    {
        Symbol = symbol;
        Indicators = indicators;
        Open = new List<WindowState>[windowCount];
        for (var i = 0; i < windowCount; i++)
        {
            Open[i] = new List<WindowState>(8);
        }

        RuleStates = new RuleState?[ruleCount];
        Recent = new RecentBars[windowCount];
        for (var i = 0; i < windowCount; i++)
        {
            Recent[i] = new RecentBars();
        }
    }

    public string Symbol { get; }

    /// <summary>Open windows per window definition, ordered by start (sessions never overlap).</summary>
    public List<WindowState>[] Open { get; }

    /// <summary>Trade id → event time of the tick that carried it.</summary>
    public Dictionary<TradeId, long> Seen { get; } = [];

    /// <summary>Trade ids in arrival order, so expired ones can be dropped from <see cref="Seen"/> cheaply.</summary>
    public Queue<(TradeId Id, long Ts)> SeenOrder { get; } = new();

    /// <summary>Per rule index: what the rule's kind keeps between bars (the previous volumes of a volume surge); null until it keeps something.</summary>
    public RuleState?[] RuleStates { get; set; }

    /// <summary>Per window: the last closed bars, for rules and indicators a live reload adds to warm up from.</summary>
    public RecentBars[] Recent { get; }

    /// <summary>The symbol's indicator states and latest values; null when the pipeline has no indicators.</summary>
    public SymbolIndicators? Indicators { get; set; }
}
