using System.Globalization;
using System.Text;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using CsCheck;

namespace Breadboard.Core.Tests.Codec;

/// <summary>
/// The fast way for our own tick lines (<see cref="TickJson.TryParseCanonical"/>) decides nothing the JSON reader
/// would decide otherwise: where it takes a line, the general way takes it too, with the same tick.
/// </summary>
public class TickJsonCanonicalProperties
{
    private static readonly Gen<string> Text = Gen.OneOf(
        Gen.String[Gen.Char["A-Za-z0-9.-_"], 1, 12],
        Gen.String[Gen.Char, 0, 8],
        Gen.OneOf(Gen.Const("BTC-USD"), Gen.Const(""), Gen.Const("a b"), Gen.Const("\\u0041"), Gen.Const("é"), Gen.Const(new string('x', 65))));

    private static readonly Gen<string> Number = Gen.OneOf(
        Gen.Double.Select(d => d.ToString("R", CultureInfo.InvariantCulture)),
        Gen.Double[1e-6, 1e7].Select(d => d.ToString(CultureInfo.InvariantCulture)),
        Gen.Long[-5, 100_000].Select(l => l.ToString(CultureInfo.InvariantCulture)),
        Gen.Select(Gen.String[Gen.Char["0-9.eE+-"], 1, 10], Gen.Int[0, 9]).Select((s, d) => d + s),
        Gen.OneOf(Gen.Const("01"), Gen.Const("1."), Gen.Const(".5"), Gen.Const("1e400"), Gen.Const("-0"), Gen.Const("1E+2"), Gen.Const("\"5\""), Gen.Const("NaN")));

    private static readonly Gen<string> Time = Gen.OneOf(
        Gen.Long[EventTime.MinMs, EventTime.MaxMs].Select(ms =>
        {
            Span<byte> iso = stackalloc byte[24];
            EventTime.FormatIso(ms, iso);
            return Encoding.ASCII.GetString(iso);
        }),
        Gen.OneOf(Gen.Const("2026-02-30T00:00:00.000Z"), Gen.Const("2026-01-02T14:30:00Z"), Gen.Const("1767364200123"), Gen.Const("2026-01-02 14:30:00.5+01:00")));

    private static readonly Gen<string> Line = Gen.Select(Text, Time, Number, Number, Gen.Select(Gen.Int[0, 2], Gen.Long[0, long.MaxValue], Text), Gen.Select(Gen.Bool, Text), Gen.OneOf(Gen.Const("stock"), Gen.Const("crypto"), Gen.Const("CRYPTO"), Gen.Const("bond")))
        .Select((symbol, ts, price, volume, id, exchange, assetClass) =>
        {
            var trade = id.Item1 switch
            {
                0 => "",
                1 => $",\"trade_id\":\"{id.Item2}\"",
                _ => $",\"trade_id\":\"{id.Item3}\"",
            };
            var venue = exchange.Item1 ? $",\"exchange\":\"{exchange.Item2}\"" : "";
            return $"{{\"symbol\":\"{symbol}\",\"ts\":\"{ts}\",\"price\":{price},\"volume\":{volume}{trade}{venue},\"asset_class\":\"{assetClass}\"}}";
        });

    [Fact]
    public void TryParseCanonical_WhereItTakesALine_AgreesWithTheJsonReader()
    {
        Line.Sample(line =>
        {
            var bytes = Encoding.UTF8.GetBytes(line);
            if (!new TickJson().TryParseCanonical(bytes, out var fast))
            {
                return true;
            }

            return new TickJson().TryParseAny(bytes, out var general, out _) && fast == general;
        }, iter: 20_000);
    }

    [Fact]
    public void TryParseCanonical_TakesWhatOurWriterWrites()
    {
        Gen.Select(Gen.Long[EventTime.MinMs, EventTime.MaxMs], Gen.Double[1e-9, 1e9], Gen.Double[1e-9, 1e9], Gen.Long[0, long.MaxValue], Gen.Bool).Sample((ts, price, volume, id, crypto) =>
        {
            var tick = new Tick("SYM-1", ts, price, volume, TradeId.FromNumber(id), "venue", crypto ? AssetClass.Crypto : AssetClass.Stock);
            var line = TickJson.ToJson(tick);
            return new TickJson().TryParseCanonical(Encoding.UTF8.GetBytes(line), out var read) && read == tick;
        }, iter: 5_000);
    }

    [Theory]
    [InlineData("""{"symbol":"A","ts":"2026-01-02T14:30:00.123Z","price":1,"volume":1,"asset_class":"stock"} """)]
    [InlineData("""{"symbol":"A","ts":"2026-01-02T14:30:00.123Z","price":1,"volume":1,"asset_class":"stock","x":1}""")]
    [InlineData("""{"symbol":"A", "ts":"2026-01-02T14:30:00.123Z","price":1,"volume":1,"asset_class":"stock"}""")]
    [InlineData("""{"symbol":"A\"","ts":"2026-01-02T14:30:00.123Z","price":1,"volume":1,"asset_class":"stock"}""")]
    [InlineData("""{"symbol":"A","ts":"2026-01-02T14:30:00.123Z","price":01,"volume":1,"asset_class":"stock"}""")]
    [InlineData("""{"symbol":"A","ts":"2026-01-02T14:30:00.123Z","price":0,"volume":1,"asset_class":"stock"}""")]
    public void TryParseCanonical_LeavesEverythingElseToTheReader(string line)
    {
        Assert.False(new TickJson().TryParseCanonical(Encoding.UTF8.GetBytes(line), out _));
    }
}
