using System.Text.Json;
using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline.Indicators;
using Breadboard.Core.Streaming;
using Breadboard.Web.Live;

namespace Breadboard.Web.Tests.Indicators;

/// <summary>The live stream's closed bars carry the values the engine had on them, computed by the hub as the bars go by.</summary>
[Collection(nameof(IndicatorServerGroup))]
public class IndicatorStreamTests(IndicatorFixture web)
{
    private const long T0 = 1_767_312_000_000;

    /// <summary>Runs the engine with the hub watching as the live faces wire it; BTC-USD 1m is charted from the start, ETH-USD 1m from halfway.</summary>
    private (List<JsonElement> Btc, List<JsonElement> Eth, List<JsonElement> Other) RunWithHub()
    {
        var hub = new LiveHub(web.Pipeline);
        using var btc = hub.Connect();
        using var eth = hub.Connect();
        using var other = hub.Connect();
        btc.Subscribe("BTC-USD", "1m");
        other.Subscribe("AAPL", "session");
        var received = (Btc: new List<JsonElement>(), Eth: new List<JsonElement>(), Other: new List<JsonElement>());
        web.Run(new LiveTap(hub), position =>
        {
            if (position == 28_800)
            {
                eth.Subscribe("ETH-USD", "1m");
            }

            Drain(btc, received.Btc);
            Drain(eth, received.Eth);
            Drain(other, received.Other);
        });
        Drain(btc, received.Btc);
        Drain(eth, received.Eth);
        Drain(other, received.Other);
        Assert.False(btc.Overflowed || eth.Overflowed || other.Overflowed);
        return received;
    }

    private static void Drain(LiveClient client, List<JsonElement> into)
    {
        while (client.Messages.TryRead(out var message))
        {
            into.Add(JsonDocument.Parse(message).RootElement.Clone());
        }
    }

    [Fact]
    public void ClosedBars_CarryTheEnginesValues_AlsoOfASymbolChartedOnlyLater()
    {
        var (btc, eth, _) = RunWithHub();

        foreach (var (symbol, messages) in new[] { ("BTC-USD", btc), ("ETH-USD", eth) })
        {
            var expected = Expected.Of(web, symbol, "1m").ToDictionary(e => EventTime.ToIso(e.Bar.WindowStart), e => e.Values);
            Assert.True(messages.Count > 200, $"{symbol}: {messages.Count} messages");
            foreach (var message in messages)
            {
                Assert.True(message.GetProperty("final").GetBoolean());
                var bar = message.GetProperty("bar");
                var values = expected[bar.GetProperty("window_start").GetString()!];
                var indicators = bar.GetProperty("indicators");
                Assert.Equal(values.Count, indicators.EnumerateObject().Count());
                foreach (var (name, value) in values)
                {
                    Expected.AssertValue(value, indicators.GetProperty(name), $"{symbol} {name} at {bar.GetProperty("window_start").GetString()}");
                }
            }
        }

        // ETH-USD was charted from halfway: its first message already has every value defined, as the engine did.
        var first = eth[0].GetProperty("bar").GetProperty("indicators");
        Assert.All(first.EnumerateObject(), p => Assert.Equal(JsonValueKind.Number, p.Value.ValueKind));
    }

    [Fact]
    public void ClosedBars_OnAnAlertsBar_CarryTheOperandsTheEngineFiredWith()
    {
        var (btc, _, _) = RunWithHub();
        var crosses = web.Alerts.Where(a => a.Rule == "golden_cross" && a.Symbol == "BTC-USD").ToList();
        Assert.NotEmpty(crosses);

        var byStart = btc.ToDictionary(m => m.GetProperty("bar").GetProperty("window_start").GetString()!, m => m.GetProperty("bar").GetProperty("indicators"));
        foreach (var alert in crosses)
        {
            var indicators = byStart[EventTime.ToIso(alert.WindowStart)];
            Assert.Equal(alert.Value, indicators.GetProperty("sma_fast").GetDouble());
            Assert.Equal(alert.Threshold, indicators.GetProperty("sma_slow").GetDouble());
        }
    }

    [Fact]
    public void ClosedBarsOfAWindowWithoutIndicators_CarryNoIndicatorsField()
    {
        var (_, _, session) = RunWithHub();

        Assert.NotEmpty(session);
        Assert.All(session, m => Assert.False(m.GetProperty("bar").TryGetProperty("indicators", out _)));
    }

    [Fact]
    public void OpenBar_CarriesNoIndicators_AndDoesNotMoveThem()
    {
        var hub = new LiveHub(web.Pipeline);
        using var client = hub.Connect();
        client.Subscribe("OPEN-USD", "1m");
        for (var i = 0; i < 5; i++)
        {
            hub.OnOpenBar(new Bar("OPEN-USD", "1m", T0 + (i * 60_000), T0 + ((i + 1) * 60_000), 1_000, 1_000, 1_000, 1_000, 1, 1_000, 1)); // would be sma_fast 1000 if taken
            hub.OnClosedBar(new Bar("OPEN-USD", "1m", T0 + (i * 60_000), T0 + ((i + 1) * 60_000), 10, 10, 10, 10, 1, 10, 1));
        }

        var messages = new List<JsonElement>();
        Drain(client, messages);
        Assert.Equal(10, messages.Count);
        Assert.All(messages.Where(m => !m.GetProperty("final").GetBoolean()), m => Assert.False(m.GetProperty("bar").TryGetProperty("indicators", out _)));
        var last = messages[^1].GetProperty("bar").GetProperty("indicators");
        Assert.Equal(10, last.GetProperty("sma_fast").GetDouble());
        Assert.Equal(JsonValueKind.Null, last.GetProperty("sma_slow").ValueKind);
    }

    [Fact]
    public async Task Hub_WarmedUpFromTheStore_SendsTheEnginesValuesOnTheNextBarAndSkipsABarEmittedAgain()
    {
        // As after a restart: the store has every bar so far; the engine, resumed, emits the last one again, then a new one.
        var hub = new LiveHub(web.Pipeline);
        await hub.WarmUpAsync(web.Store, 10_000, TestContext.Current.CancellationToken);
        using var client = hub.Connect();
        client.Subscribe("BTC-USD", "1m");
        var stored = Expected.Of(web, "BTC-USD", "1m");
        var last = stored[^1].Bar;
        var next = last with { WindowStart = last.WindowEnd, WindowEnd = last.WindowEnd + 60_000, Open = last.Close, High = last.Close + 40, Low = last.Close - 25, Close = last.Close + 10 };

        hub.OnClosedBar(last);
        hub.OnClosedBar(next);

        var messages = new List<JsonElement>();
        Drain(client, messages);
        Assert.Equal(2, messages.Count);
        Assert.False(messages[0].GetProperty("bar").TryGetProperty("indicators", out _));

        // The engine's values on the new bar: the layout over every bar of the symbol, then the new one.
        var layout = web.Pipeline.IndicatorLayout;
        var state = layout.CreateSymbol();
        foreach (var bar in stored.Select(e => e.Bar).Append(next))
        {
            layout.Update(layout.OfWindow("1m"), bar, state);
        }

        var got = messages[1].GetProperty("bar").GetProperty("indicators");
        foreach (var i in layout.OfWindow("1m"))
        {
            var k = 0;
            foreach (var name in layout.Indicators[i].ValueNames())
            {
                var expected = state.Values[layout.Offset(i) + k++];
                var value = got.GetProperty(name).GetDouble();

                // sma, zscore and bollinger of a bar field look back a fixed number of bars: exact. The recursive ema,
                // rsi and atr (and what is computed over them) start from a later seed than the engine's, whose
                // weight the warm-up has made negligible.
                Assert.True(Math.Abs(value - expected) <= 1e-9 * Math.Abs(expected), $"{name}: {value:R}, engine {expected:R}");
                if (layout.Indicators[i].Kind.Name is "sma" or "zscore" or "bollinger" && BarFields.TryParse(layout.Indicators[i].Of, out _))
                {
                    Assert.Equal(expected, value);
                }
            }
        }
    }

    [Fact]
    public void Hub_WithoutAPipeline_SendsClosedBarsWithoutIndicators()
    {
        var hub = new LiveHub();
        using var client = hub.Connect();
        client.Subscribe("PLAIN-USD", "1m");

        hub.OnClosedBar(new Bar("PLAIN-USD", "1m", T0, T0 + 60_000, 1, 1, 1, 1, 1, 1, 1));

        Assert.True(client.Messages.TryRead(out var message));
        Assert.False(JsonDocument.Parse(message).RootElement.GetProperty("bar").TryGetProperty("indicators", out _));
    }

    /// <summary>What the live faces pass the hub: closed bars and ticks, as the engine emits them.</summary>
    private sealed class LiveTap(ILiveObserver observer) : IEngineOutput
    {
        public void OnBar(Bar bar) => observer.OnClosedBar(bar);

        public void OnAlert(Alert alert)
        {
        }

        public void OnLate(in Tick tick, long watermark)
        {
        }

        public void OnTick(in Tick tick, long position) => observer.OnTick(in tick);

        public void OnReject(in Tick tick, long position, string reason)
        {
        }
    }
}
