using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.TestKit;

namespace Breadboard.ClickHouse.Tests;

/// <summary>RowBinary ticks on a real ClickHouse 18.16: what goes in is what the ticks table holds.</summary>
[Slow]
public sealed class TickRowsTests(ClickHouseServerFixture fixture) : IClassFixture<ClickHouseServerFixture>
{
    private const long T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    private const ulong FirstSeq = 1_767_225_600_000UL * 1_000_000UL;

    private static readonly Tick[] Awkward =
    [
        new("BTC-USD", T0, 43_000.125, 0.000_001, TradeId.FromNumber(long.MaxValue), "coinbase", AssetClass.Crypto),
        new("O'REILLY\\X\t\"\n", T0 + 1, 0.1 + 0.2, 1e-300, TradeId.FromText("0042"), null, AssetClass.Stock),
        new("\u65e5\u672c\u682a \ud83d\udcc8", -5, double.Epsilon, 0, TradeId.None, "Soci\u00e9t\u00e9 G\u00e9n\u00e9rale", AssetClass.Stock),
        new("AAPL", 253_402_300_799_999, double.MaxValue, 1, TradeId.FromNumber(0), new string('x', 200), AssetClass.Stock), // a two-byte length
        new("ETH-USD", T0 + 2, 2_300, 5, TradeId.FromText("7c9e6679-7425-40de-944b-e07fc1f90ae7"), new string('\u00e9', 40_000), AssetClass.Crypto), // longer than the buffer
    ];

    [Fact]
    public async Task WriteRowBinary_AwkwardTicks_ReadBackExactly_WithTheirOrigins()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = await TicksTableAsync("tickrows", ct);
        TickOrigin[] origins = [.. Awkward.Select((_, i) => new TickOrigin(i == 1 ? "kafka:" + new string('p', 300) : $"kafka:crypto-prices:{i}", i * 1_000_000_000L))];

        await client.InsertAsync("ticks", TickRows.Columns, (stream, token) => TickRows.WriteRowBinaryAsync(stream, Awkward, origins, FirstSeq, token), new ClickHouseInsertOpts { Format = TickRows.Format }, ct);

        Assert.Equal(Awkward.Select((t, i) => Expected(t, FirstSeq + (ulong)i, origins[i])), await ReadAsync(client, ct));
    }

    [Fact]
    public async Task QueryRowBinary_ReadsTheServersRowsExactly_StringsOfEveryLengthEncoding()
    {
        // Lengths of one, two and three LEB128 bytes (the 40,000 é are 80,000 bytes), an empty string, negative
        // and large numbers: read back as RowBinary, column by column, they are what the JSON answer holds.
        var ct = TestContext.Current.CancellationToken;
        using var client = await TicksTableAsync("rowbinary", ct);
        TickOrigin[] origins = [.. Awkward.Select((_, i) => new TickOrigin($"kafka:crypto-prices:{i}", -i * 1_000_000_000L))];
        await client.InsertAsync("ticks", TickRows.Columns, (stream, token) => TickRows.WriteRowBinaryAsync(stream, Awkward, origins, FirstSeq, token), new ClickHouseInsertOpts { Format = TickRows.Format }, ct);

        var rows = await client.QueryRowBinaryAsync("SELECT symbol, exchange, trade_id, ts, position FROM ticks ORDER BY seq", static (ref RowBinaryReader r) =>
            (Symbol: System.Text.Encoding.UTF8.GetString(r.Text()), Exchange: System.Text.Encoding.UTF8.GetString(r.Text()), TradeId: System.Text.Encoding.UTF8.GetString(r.Text()), Ts: r.Number(), Position: r.Number()), ct);

        Assert.Equal((await ReadAsync(client, ct)).Select(r => (r.Symbol, r.Exchange, r.TradeId, r.Ts, r.Position)), rows);
        await Assert.ThrowsAsync<ClickHouseException>(() => client.QueryRowBinaryAsync("SELECT no_such_column FROM ticks", static (ref RowBinaryReader r) => r.Number(), ct));
    }

    [Fact]
    public void RowBinaryReader_AnswerCutShort_IsABrokenAnswer_NotARow()
    {
        byte[] cutInString = [5, (byte)'a', (byte)'b'];
        byte[] lengthRunsOn = [0x80, 0x80];
        byte[] cutInNumber = [1, 2, 3];

        Assert.Throws<InvalidDataException>(() => new RowBinaryReader(cutInString).Text().Length);
        Assert.Throws<InvalidDataException>(() => new RowBinaryReader(lengthRunsOn).Text().Length);
        Assert.Throws<InvalidDataException>(() => new RowBinaryReader(cutInNumber).Number());
        var whole = new RowBinaryReader([2, (byte)'o', (byte)'k']);
        Assert.Equal("ok"u8.ToArray(), whole.Text().ToArray());
        Assert.True(whole.End);
    }

    [Fact]
    public async Task WriteRowBinary_ManyTicksWithoutOrigins_ReadBackExactly()
    {
        var ct = TestContext.Current.CancellationToken;
        var ticks = new List<Tick>();
        for (var i = 0; i < 150_000; i++)
        {
            // Several 64 KiB buffers' worth, with every kind of trade id and exchange.
            var id = (i % 3) switch { 0 => TradeId.FromNumber(i), 1 => TradeId.FromText($"t-{i}"), _ => TradeId.None };
            ticks.Add(new Tick($"SYM{i % 37:000}{(i % 5 == 0 ? "-USD" : "")}", T0 + (i * 7L), 100 + (i * 0.01), (i % 13) + 0.5, id, i % 4 == 0 ? null : "venue", i % 5 == 0 ? AssetClass.Crypto : AssetClass.Stock));
        }

        using var client = await TicksTableAsync("tickrows_many", ct);
        await client.InsertAsync("ticks", TickRows.Columns, (stream, token) => TickRows.WriteRowBinaryAsync(stream, ticks, null, FirstSeq, token), new ClickHouseInsertOpts { Format = TickRows.Format }, ct);

        Assert.Equal(ticks.Select((t, i) => Expected(t, FirstSeq + (ulong)i, new TickOrigin("", -1))), await ReadAsync(client, ct));
    }

    [Fact]
    public async Task WriteRowBinary_OriginsNotOnePerTick_AreRefused()
    {
        using var stream = new MemoryStream();
        var error = await Assert.ThrowsAsync<ArgumentException>(() => TickRows.WriteRowBinaryAsync(stream, Awkward, [new TickOrigin("x", 1)], FirstSeq, TestContext.Current.CancellationToken));
        Assert.Contains("1 origins for 5 ticks", error.Message, StringComparison.Ordinal);
    }

    private static Row Expected(Tick t, ulong seq, TickOrigin origin) =>
        new(t.Symbol, t.Ts, t.Price, t.Volume, t.TradeId.ToString() ?? "", t.Exchange ?? "", AssetClasses.Name(t.AssetClass), seq, origin.Source, origin.Position);

    private async Task<ClickHouseHttpClient> TicksTableAsync(string prefix, CancellationToken ct)
    {
        var database = await fixture.CreateDatabaseAsync(prefix, ct);
        var client = new ClickHouseHttpClient(fixture.Url, database, null, null);
        await ClickHouseSchema.MigrateAsync(client, null, ct);
        return client;
    }

    private static Task<List<Row>> ReadAsync(ClickHouseHttpClient client, CancellationToken ct) =>
        client.QueryAsync($"SELECT {TickRows.Columns} FROM ticks ORDER BY seq", r => new Row(
            r.GetProperty("symbol").GetString()!,
            r.GetProperty("ts").GetInt64(),
            r.GetProperty("price").GetDouble(),
            r.GetProperty("volume").GetDouble(),
            r.GetProperty("trade_id").GetString()!,
            r.GetProperty("exchange").GetString()!,
            r.GetProperty("asset_class").GetString()!,
            r.GetProperty("seq").GetUInt64(),
            r.GetProperty("source").GetString()!,
            r.GetProperty("position").GetInt64()), ct);

    private sealed record Row(string Symbol, long Ts, double Price, double Volume, string TradeId, string Exchange, string AssetClass, ulong Seq, string Source, long Position);
}
