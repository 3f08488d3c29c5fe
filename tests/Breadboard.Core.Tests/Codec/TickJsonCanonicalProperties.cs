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
        Gen.Select(Gen.Long[0, 999_999_999_999_999_999], Gen.Int[0, 18], Gen.Bool).Select((m, point, minus) =>
        {
            // Short decimals, the exact way's domain, and just past it (16 digits and more).
            var digits = m.ToString(CultureInfo.InvariantCulture);
            var at = Math.Min(point, digits.Length - 1);
            return (minus ? "-" : "") + (at == 0 ? digits : digits[..^at] + "." + digits[^at..]);
        }),
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
        var taken = 0;
        Line.Sample(line =>
        {
            var bytes = Encoding.UTF8.GetBytes(line);
            if (!new TickJson().TryParseCanonical(bytes, out var fast))
            {
                return true;
            }

            Interlocked.Increment(ref taken);
            return new TickJson().TryParseAny(bytes, out var general, out _) && fast == general
                && BitConverter.DoubleToInt64Bits(fast.Price) == BitConverter.DoubleToInt64Bits(general.Price)
                && BitConverter.DoubleToInt64Bits(fast.Volume) == BitConverter.DoubleToInt64Bits(general.Volume);
        }, iter: 20_000);

        Assert.True(taken > 1_000, $"the fast way took only {taken} lines: the property says little");
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

    [Fact]
    public void SymbolTable_InterningManyValuesAtRandom_GivesOneInstancePerValue()
    {
        var values = Enumerable.Range(0, 300).Select(i => $"S{i}").ToArray();
        Gen.Int[0, values.Length - 1].Array[1, 2_000].Sample(picks =>
        {
            var table = new SymbolTable();
            var first = new Dictionary<string, string>();
            foreach (var pick in picks)
            {
                var interned = table.Intern(Encoding.UTF8.GetBytes(values[pick]))!;
                if (interned != values[pick] || !ReferenceEquals(first.TryAdd(interned, interned) ? interned : first[interned], interned))
                {
                    return false;
                }
            }

            return true;
        }, iter: 200);
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
