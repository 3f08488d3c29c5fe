using System.Net;
using System.Text.Json;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.Web.Live;

namespace Breadboard.Web.Tests;

/// <summary>
/// NaN and ±Infinity (which old databases can hold) are written as JSON null: by the API, and by the live stream,
/// where a bar that cannot be written must never take the pipeline or the process down.
/// </summary>
public class NonFiniteTests
{
    private const long T0 = 1_767_312_000_000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ScriptedStore StoreWithNonFiniteRows()
    {
        var store = new ScriptedStore();
        store.Bars.Add(new Bar("NAN-USD", "1m", T0, T0 + 60_000, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1.5, double.NaN, double.PositiveInfinity, 3));
        store.Alerts.Add(new Alert("price_drop:NAN-USD:1m:0", "price_drop", "NAN-USD", "1m", T0, T0 + 60_000, double.NegativeInfinity, double.NaN, T0 + 60_000));
        store.Ticks.Add(new Tick("NAN-USD", T0, double.NaN, double.PositiveInfinity, TradeId.None, null, AssetClass.Crypto));
        store.Symbols.Add(new SymbolSummary("NAN-USD", AssetClass.Crypto, T0, double.PositiveInfinity, double.NaN));
        return store;
    }

    [Theory]
    [InlineData("/api/bars?symbol=NAN-USD&window=1m", "open")]
    [InlineData("/api/bars?symbol=NAN-USD&window=1m", "high")]
    [InlineData("/api/bars?symbol=NAN-USD&window=1m", "vwap")]
    [InlineData("/api/alerts", "value")]
    [InlineData("/api/alerts", "threshold")]
    [InlineData("/api/ticks", "price")]
    [InlineData("/api/symbols", "last_price")]
    [InlineData("/api/symbols", "change_percent")]
    public async Task Api_StoredNonFiniteNumber_IsWrittenAsNull(string path, string field)
    {
        await using var server = await RunningServer.StartAsync(StoreWithNonFiniteRows());

        using var response = await server.Http.GetAsync(new Uri(path, UriKind.Relative), Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {body}");
        var row = Assert.Single(JsonDocument.Parse(body).RootElement.EnumerateArray());
        Assert.Equal(JsonValueKind.Null, row.GetProperty(field).ValueKind);
        Assert.Equal("NAN-USD", row.GetProperty("symbol").GetString());
    }

    [Fact]
    public void Hub_BarWithInfinity_ReachesTheSubscribedClientWithNulls()
    {
        var hub = new LiveHub();
        using var client = hub.Connect();
        client.Subscribe("NAN-USD", "1m");

        hub.OnBar(new Bar("NAN-USD", "1m", T0, T0 + 60_000, 1, double.PositiveInfinity, double.NaN, 1, 2, null, 1), final: false);

        Assert.True(client.Messages.TryRead(out var message));
        var bar = JsonDocument.Parse(message).RootElement.GetProperty("bar");
        Assert.Equal(JsonValueKind.Null, bar.GetProperty("high").ValueKind);
        Assert.Equal(JsonValueKind.Null, bar.GetProperty("low").ValueKind);
        Assert.Equal(1, bar.GetProperty("open").GetDouble());
    }

    [Fact]
    public void Hub_AlertAndTicksWithNaN_AreSentWithNulls()
    {
        var hub = new LiveHub();
        using var client = hub.Connect();

        hub.OnAlert(new Alert("a", "price_drop", "NAN-USD", "1m", T0, T0 + 60_000, double.NaN, double.NaN, T0));
        hub.OnTick(new Tick("NAN-USD", T0, double.NegativeInfinity, double.NaN, TradeId.None, null, AssetClass.Crypto));
        hub.FlushTicks();

        Assert.True(client.Messages.TryRead(out var alert));
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(alert).RootElement.GetProperty("alert").GetProperty("value").ValueKind);
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(alert).RootElement.GetProperty("alert").GetProperty("threshold").ValueKind);
        Assert.True(client.Messages.TryRead(out var ticks));
        var item = Assert.Single(JsonDocument.Parse(ticks).RootElement.GetProperty("items").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, item.GetProperty("price").ValueKind);
        Assert.Equal(JsonValueKind.Null, item.GetProperty("volume").ValueKind);
    }
}
