using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Breadboard.Core.Model;

namespace Breadboard.Web.Tests.Indicators;

/// <summary>
/// The dashboard's indicators from the server: the hello lists them, and <c>/api/bars?indicators=true</c> gives each
/// bar the values the engine had on it (computed by the engine's code over the stored bars, with a warm-up).
/// </summary>
[Collection(nameof(IndicatorServerGroup))]
public class IndicatorHistoryTests(IndicatorFixture web)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<JsonElement> GetJson(string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await web.Http.GetAsync(new Uri(path, UriKind.Relative), Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == expected, $"{path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    [Fact]
    public async Task Hello_ListsEveryIndicatorWithItsValuesUnitAndPane()
    {
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new UriBuilder(web.BaseAddress) { Scheme = "ws", Path = "/api/stream" }.Uri, Ct);

        var hello = await StreamTests.ReceiveAsync(socket, "hello");

        var indicators = hello.GetProperty("indicators").EnumerateArray()
            .Select(i => $"{i.GetProperty("name").GetString()}:{i.GetProperty("type").GetString()}:{i.GetProperty("window").GetString()}:"
                + $"{string.Join('|', i.GetProperty("values").EnumerateArray().Select(v => v.GetString()))}:{i.GetProperty("unit").GetString()}:{i.GetProperty("pane").GetString()}")
            .ToList();
        Assert.Equal(
            [
                "sma_fast:sma:1m:sma_fast:price:price",
                "sma_slow:sma:1m:sma_slow:price:price",
                "ema12:ema:1m:ema12:price:price",
                "rsi14:rsi:1m:rsi14:index:rsi",
                "vol_z:zscore:1m:vol_z:sigma:lower",
                "bb:bollinger:1m:bb.upper|bb.middle|bb.lower:price:price",
                "atr14:atr:1m:atr14:price:lower",
                "rsi_smooth:sma:1m:rsi_smooth:index:rsi",
                "vol_avg:sma:1m:vol_avg:volume:volume",
                "ema5m:ema:5m:ema5m:price:price",
            ],
            indicators);
        var bb = hello.GetProperty("indicators")[5];
        Assert.Equal("close", bb.GetProperty("of").GetString());
        Assert.Equal(20, bb.GetProperty("period").GetInt32());
        Assert.Equal(2, bb.GetProperty("k").GetDouble());
        Assert.Equal(JsonValueKind.Null, hello.GetProperty("indicators")[6].GetProperty("of").ValueKind);
        Assert.False(hello.GetProperty("indicators")[0].TryGetProperty("k", out _));

        var rules = hello.GetProperty("rules").EnumerateArray().Select(r => $"{r.GetProperty("name").GetString()}: {r.GetProperty("description").GetString()} ({r.GetProperty("unit").GetString()})").ToList();
        Assert.Equal(
            [
                "price_drop: price_change <= \u22125.0% (percent)",
                "golden_cross: crosses_above(sma_fast, sma_slow) (price)",
                "rsi_hot: rsi14 > 60 for 2 bars (index)",
                "band_break: crosses_below(close, bb.lower) (price)",
                "above_ema5m: crosses_above(close, ema5m) (price)",
            ],
            rules);
    }

    [Theory]
    [InlineData("BTC-USD", "1m")]
    [InlineData("AAPL", "1m")]
    [InlineData("ETH-USD", "5m")]
    public async Task History_OfTheWholeSeries_CarriesTheEnginesValuesOnEveryBar(string symbol, string window)
    {
        var expected = Expected.Of(web, symbol, window);
        Assert.True(expected.Count > 300, $"only {expected.Count} bars");

        var bars = await GetJson($"/api/bars?symbol={symbol}&window={window}&limit=10000&indicators=true");

        Assert.Equal(expected.Count, bars.GetArrayLength());
        var defined = 0;
        for (var b = 0; b < expected.Count; b++)
        {
            var (bar, values) = expected[b];
            var got = bars[b];
            Assert.Equal(EventTime.ToIso(bar.WindowStart), got.GetProperty("window_start").GetString());
            var indicators = got.GetProperty("indicators");
            Assert.Equal(values.Keys.Order(StringComparer.Ordinal), indicators.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
            foreach (var (name, value) in values)
            {
                Expected.AssertValue(value, indicators.GetProperty(name), $"{name} on bar {b}");
                defined += double.IsNaN(value) ? 0 : 1;
            }
        }

        // Undefined during the warm-up (written as null), defined after it.
        Assert.True(defined > (expected.Count - 40) * expected[0].Values.Count, $"{defined} defined values");
        Assert.Equal(JsonValueKind.Null, bars[0].GetProperty("indicators").EnumerateObject().First().Value.ValueKind);
    }

    [Theory]
    [InlineData("golden_cross", "sma_fast", "sma_slow")]
    [InlineData("band_break", null, "bb.lower")]
    [InlineData("rsi_hot", "rsi14", null)]
    [InlineData("above_ema5m", null, "ema5m")]
    public async Task History_OnAnAlertsBar_HasTheOperandsTheEngineFiredWith(string rule, string? left, string? right)
    {
        // The alert's value and threshold are the engine's own values of the first comparison's operands.
        var alerts = web.Alerts.Where(a => a.Rule == rule).ToList();
        Assert.NotEmpty(alerts);

        foreach (var group in alerts.GroupBy(a => (a.Symbol, a.Window)))
        {
            var bars = await GetJson($"/api/bars?symbol={group.Key.Symbol}&window={group.Key.Window}&limit=10000&indicators=true");
            var byStart = bars.EnumerateArray().ToDictionary(b => b.GetProperty("window_start").GetString()!);
            foreach (var alert in group)
            {
                var indicators = byStart[EventTime.ToIso(alert.WindowStart)].GetProperty("indicators");
                if (left is not null)
                {
                    Assert.Equal(alert.Value, indicators.GetProperty(left).GetDouble());
                }

                if (right is not null)
                {
                    Assert.Equal(alert.Threshold, indicators.GetProperty(right).GetDouble());
                }
            }
        }
    }

    [Fact]
    public async Task History_OfTheLatestBars_WarmsUpOnEarlierOnesToTheEnginesValues()
    {
        var expected = Expected.Of(web, "BTC-USD", "1m");
        var shown = expected.TakeLast(50).ToList();

        var bars = await GetJson("/api/bars?symbol=BTC-USD&window=1m&limit=50&indicators=true");

        // The warm-up (300 bars for sma over rsi14) starts well after the first bar, so the recursive kinds begin
        // from a later seed than the engine did: equal within far less than a chart shows; the others exactly.
        Assert.True(expected.Count > 400, $"only {expected.Count} bars: the warm-up reaches back to the first");
        Assert.Equal(50, bars.GetArrayLength());
        var recursive = new HashSet<string>(StringComparer.Ordinal) { "ema12", "rsi14", "atr14", "rsi_smooth" };
        for (var b = 0; b < shown.Count; b++)
        {
            var indicators = bars[b].GetProperty("indicators");
            Assert.Equal(EventTime.ToIso(shown[b].Bar.WindowStart), bars[b].GetProperty("window_start").GetString());
            foreach (var (name, value) in shown[b].Values)
            {
                Assert.False(double.IsNaN(value), $"{name} undefined on bar {b}");
                if (recursive.Contains(name))
                {
                    Assert.Equal(value, indicators.GetProperty(name).GetDouble(), Math.Abs(value) * 1e-9);
                }
                else
                {
                    Expected.AssertValue(value, indicators.GetProperty(name), $"{name} on bar {b}");
                }
            }
        }
    }

    [Theory]
    [InlineData("/api/bars?symbol=BTC-USD&window=session&limit=5&indicators=true")]
    [InlineData("/api/bars?symbol=BTC-USD&window=1m&limit=5")]
    [InlineData("/api/bars?symbol=BTC-USD&window=1m&limit=5&indicators=false")]
    public async Task History_OfAWindowWithoutIndicatorsOrWithoutTheSwitch_HasNoIndicatorsField(string path)
    {
        var bars = await GetJson(path);

        Assert.NotEqual(0, bars.GetArrayLength());
        Assert.All(bars.EnumerateArray(), b => Assert.False(b.TryGetProperty("indicators", out _), b.ToString()));
    }

    [Fact]
    public async Task History_WithABadSwitch_Is400NamingIt()
    {
        var problem = await GetJson("/api/bars?symbol=BTC-USD&window=1m&indicators=yes", HttpStatusCode.BadRequest);

        Assert.Contains("'yes' is neither true nor false", problem.GetProperty("errors").GetProperty("indicators")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task History_OfAnUnknownSymbol_IsEmpty()
    {
        var bars = await GetJson("/api/bars?symbol=NOPE&window=1m&indicators=true");

        Assert.Equal(0, bars.GetArrayLength());
    }
}

/// <summary>The engine's indicator values on each bar it emitted: <see cref="Core.Pipeline.Indicators.IndicatorLayout.Update"/> over those bars in its order.</summary>
internal static class Expected
{
    public static List<(Bar Bar, Dictionary<string, double> Values)> Of(IndicatorFixture web, string symbol, string window)
    {
        var layout = web.Pipeline.IndicatorLayout;
        var indices = layout.OfWindow(window);
        var state = layout.CreateSymbol();
        var result = new List<(Bar, Dictionary<string, double>)>();
        foreach (var bar in web.Bars.Where(b => b.Symbol == symbol && b.Window == window))
        {
            layout.Update(indices, bar, state);
            var values = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var i in indices)
            {
                var k = 0;
                foreach (var name in layout.Indicators[i].ValueNames())
                {
                    values[name] = state.Values[layout.Offset(i) + k++];
                }
            }

            result.Add((bar, values));
        }

        return result;
    }

    /// <summary>A value as JSON has it: null when undefined (NaN), else exactly the number.</summary>
    public static void AssertValue(double expected, JsonElement got, string what)
    {
        if (double.IsNaN(expected))
        {
            Assert.True(got.ValueKind == JsonValueKind.Null, $"{what}: expected null (undefined), got {got}");
        }
        else
        {
            Assert.True(got.ValueKind == JsonValueKind.Number, $"{what}: expected {expected:R}, got {got}");
            Assert.Equal(expected, got.GetDouble());
        }
    }
}
