using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Indicators;
using Breadboard.Core.Pipeline.Rules;

namespace Breadboard.Core.Tests.Indicators;

/// <summary>Indicators and expression rules allocate nothing per closed bar once a symbol's state exists.</summary>
public class IndicatorAllocationTests
{
    [Fact]
    public void UpdateAndEvaluate_WhenWarm_AllocateNothingPerBar()
    {
        IndicatorDefinition[] indicators =
        [
            IndicatorDefinition.Sma("sma_fast", "1m", "close", 5),
            IndicatorDefinition.Sma("sma_slow", "1m", "close", 20),
            IndicatorDefinition.Ema("ema12", "1m", "close", 12),
            IndicatorDefinition.Rsi("rsi14", "1m", "close", 14),
            IndicatorDefinition.ZScore("vol_z", "1m", "volume", 20),
            IndicatorDefinition.Bollinger("bb", "1m", "close", 20, 2),
            IndicatorDefinition.Atr("atr14", "1m", 14),
            IndicatorDefinition.Ema("signal", "1m", "sma_fast", 9),
        ];
        RuleDefinition[] rules =
        [
            ExpressionRule.Define("golden_cross", "1m", "crosses_above(sma_fast, sma_slow)", 1, indicators),
            ExpressionRule.Define("rsi_hot", "1m", "rsi14 > 70", 3, indicators),
            ExpressionRule.Define("volume_anomaly", "1m", "vol_z >= 3 and close > open", 1, indicators),
            ExpressionRule.Define("band_break", "1m", "crosses_below(close, bb.lower) or change_pct(prev(ema12, 2), 3) / atr14 < -1", 2, indicators),
        ];
        var layout = new IndicatorLayout(indicators);
        var window = layout.OfWindow("1m");
        var symbol = layout.CreateSymbol();
        var states = new RuleState?[rules.Length];
        var bars = Enumerable.Range(0, 400)
            .Select(i => new Bar("X", "1m", i * 60_000L, (i + 1) * 60_000L, 100 + (i % 7), 102 + (i % 11), 98 - (i % 5), 100 + (i % 13), 1 + (i % 17), 100, 3))
            .ToArray();
        var fired = 0;

        void Run(int from, int to)
        {
            for (var i = from; i < to; i++)
            {
                layout.Update(window, bars[i], symbol);
                for (var r = 0; r < rules.Length; r++)
                {
                    fired += rules[r].Kind.Evaluate(rules[r], bars[i], symbol.Values, ref states[r], out _, out _) ? 1 : 0;
                }
            }
        }

        Run(0, 100);
        var before = GC.GetAllocatedBytesForCurrentThread();
        Run(100, 400);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.True(fired > 0, "no rule fired: the bars are too tame to exercise the rules");
    }
}
