using Breadboard.Core.Model;
using Breadboard.Core.Pipeline.Indicators;
using static Breadboard.Core.Tests.Engine.Kit;

namespace Breadboard.Core.Tests.Pipeline;

/// <summary>
/// The worked examples of docs/RULES.md ("Indicators"): the same six bars through <see cref="IndicatorLayout"/>,
/// each indicator's values as the document prints them. Values the document gives exactly are compared exactly;
/// values it rounds are compared to the digits it prints.
/// </summary>
public class IndicatorExamplesTests
{
    /// <summary>The document's bars: open, high, low, close of six consecutive one-minute bars.</summary>
    private static readonly (double Open, double High, double Low, double Close)[] Example =
    [
        (9, 11, 9, 10),
        (10, 13, 10, 12),
        (12, 15, 11, 14),
        (14, 16, 10, 13),
        (13, 16, 12, 15),
        (19, 22, 18, 20),
    ];

    private const double U = double.NaN; // undefined, as the document's "–"

    private static readonly IndicatorDefinition[] Indicators =
    [
        IndicatorDefinition.Sma("sma3", "1m", "close", 3),
        IndicatorDefinition.Ema("ema3", "1m", "close", 3),
        IndicatorDefinition.Rsi("rsi3", "1m", "close", 3),
        IndicatorDefinition.ZScore("z3", "1m", "close", 3),
        IndicatorDefinition.Bollinger("bb", "1m", "close", 3, 2),
        IndicatorDefinition.Atr("atr3", "1m", 3),
        IndicatorDefinition.Ema("sma3_ema2", "1m", "sma3", 2),
    ];

    /// <summary>Each value name's value on each of the six bars.</summary>
    private static Dictionary<string, double[]> Run()
    {
        var layout = new IndicatorLayout(Indicators);
        var window = layout.OfWindow("1m");
        var symbol = layout.CreateSymbol();
        var names = Indicators.SelectMany(i => i.ValueNames()).ToList();
        var result = names.ToDictionary(n => n, _ => new double[Example.Length]);
        for (var i = 0; i < Example.Length; i++)
        {
            var (open, high, low, close) = Example[i];
            var start = T0 + (i * Minute);
            var bar = new Bar("BTC-USD", "1m", start, start + Minute, open, high, low, close, 1, close, 1);
            layout.Update(window, bar, symbol);
            foreach (var name in names)
            {
                Assert.True(layout.TryFind(name, out var slot));
                result[name][i] = symbol.Values[slot];
            }
        }

        return result;
    }

    private static void AssertExactly(double[] expected, double[] actual) => Assert.Equal(expected, actual);

    /// <summary>Undefined where the document has "–"; elsewhere equal to the 4 decimals it prints.</summary>
    private static void AssertTo4Decimals(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            if (double.IsNaN(expected[i]))
            {
                Assert.True(double.IsNaN(actual[i]), $"bar {i + 1}: expected undefined, got {actual[i]}");
            }
            else
            {
                Assert.True(Math.Abs(expected[i] - actual[i]) < 0.00005, $"bar {i + 1}: expected {expected[i]}, got {actual[i]}");
            }
        }
    }

    [Fact]
    public void Sma3_OfTheExample_IsTheMeanOfTheLastThreeCloses() =>
        AssertExactly([U, U, 12, 13, 14, 16], Run()["sma3"]);

    [Fact]
    public void Ema3_OfTheExample_StartsAtTheSmaOfTheFirstThreeThenSmoothsByHalf() =>
        AssertExactly([U, U, 12, 12.5, 13.75, 16.875], Run()["ema3"]);

    [Fact]
    public void Rsi3_OfTheExample_SeedsWithPlainMeansOnTheFourthBarThenWilderSmooths() =>
        AssertTo4Decimals([U, U, U, 80, 87.5, 94.8052], Run()["rsi3"]);

    [Fact]
    public void ZScore3_OfTheExample_ComparesEachCloseWithTheThreeBeforeIt() =>
        AssertTo4Decimals([U, U, U, 0.6124, 2.4495, 7.3485], Run()["z3"]);

    [Fact]
    public void Bollinger3K2_OfTheExample_IsTheSmaPlusMinusTwoPopulationDeviations()
    {
        var values = Run();

        AssertExactly([U, U, 12, 13, 14, 16], values["bb.middle"]);
        AssertTo4Decimals([U, U, 15.2660, 14.6330, 15.6330, 21.8878], values["bb.upper"]);
        AssertTo4Decimals([U, U, 8.7340, 11.3670, 12.3670, 10.1122], values["bb.lower"]);
    }

    [Fact]
    public void Atr3_OfTheExample_SeedsWithTheMeanOfTheFirstThreeTrueRangesThenWilderSmooths() =>
        AssertExactly([U, U, 3, 4, 4, 5], Run()["atr3"]);

    [Fact]
    public void EmaOfSma_OfTheExample_SkipsTheBarsWhereTheSmaIsUndefined() =>
        AssertTo4Decimals([U, U, U, 12.5, 13.5, 15.1667], Run()["sma3_ema2"]);

    [Fact]
    public void Sma_OverVwapOfABarWithoutVolume_SkipsThatBar()
    {
        // vwap is undefined on a bar without volume: the sma neither takes it nor is defined on it.
        var layout = new IndicatorLayout([IndicatorDefinition.Sma("vwap2", "1m", "vwap", 2)]);
        var window = layout.OfWindow("1m");
        var symbol = layout.CreateSymbol();
        var seen = new List<double>();
        foreach (var vwap in new double?[] { 10, null, 12, 14 })
        {
            layout.Update(window, new Bar("BTC-USD", "1m", 0, 60_000, 10, 10, 10, 10, vwap is null ? 0 : 1, vwap, 1), symbol);
            seen.Add(symbol.Values[0]);
        }

        AssertExactly([U, U, 11, 13], [.. seen]);
    }
}
