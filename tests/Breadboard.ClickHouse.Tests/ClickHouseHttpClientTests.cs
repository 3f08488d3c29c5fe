using System.Globalization;
using System.Text;
using System.Text.Json;
using Breadboard.TestKit;
using Breadboard.TestKit.ClickHouse;

namespace Breadboard.ClickHouse.Tests;

[Slow]
public sealed class ClickHouseHttpClientTests(ClickHouseServerFixture fixture) : IClassFixture<ClickHouseServerFixture>
{
    private const int RowCount = 100_000;
    private const long FirstTs = 1_767_225_600_123; // 2026-01-01T00:00:00.123Z in epoch milliseconds

    private static readonly string[] Symbols = ["AAPL", "BRK\"B", "Soci\u00e9t\u00e9 G\u00e9n\u00e9rale", "\u65e5\u672c\u682a \ud83d\udcc8", "back\\slash", "line\nbreak"];

    [Fact]
    public async Task Insert_100KRowsStreamedAsGzipJsonEachRow_ReadBackExactly()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await fixture.CreateDatabaseAsync("insert", ct);
        using var recording = new RecordingHandler();
        using var http = recording.Client();
        using var client = new ClickHouseHttpClient(fixture.Url, database, null, null, http);
        await client.ExecuteAsync(
            "CREATE TABLE ticks (id UInt64, symbol String, ts Int64, price Float64, qty Int64) ENGINE = MergeTree ORDER BY (symbol, ts)", ct);

        await client.InsertAsync("ticks", "id, symbol, ts, price, qty", WriteTicksAsync, ct);

        var insert = recording.Requests.Single(r => r.RequestUri!.Query.Contains("INSERT", StringComparison.Ordinal));
        Assert.Contains("gzip", insert.Content!.Headers.ContentEncoding);
        Assert.Contains("enable_http_compression=1", insert.RequestUri!.Query, StringComparison.Ordinal);

        var totals = await client.QueryAsync(
            "SELECT count() AS n, sum(qty) AS qty, sum(ts - " + FirstTs.ToString(CultureInfo.InvariantCulture) + ") AS dts, min(ts) AS first, max(ts) AS last, uniqExact(symbol) AS symbols FROM ticks",
            row => (N: row.GetProperty("n").GetInt64(), Qty: row.GetProperty("qty").GetInt64(), Dts: row.GetProperty("dts").GetInt64(),
                First: row.GetProperty("first").GetInt64(), Last: row.GetProperty("last").GetInt64(), Symbols: row.GetProperty("symbols").GetInt64()),
            ct);
        var expectedQty = 0L;
        var expectedDts = 0L;
        for (var i = 0; i < RowCount; i++)
        {
            expectedQty += Qty(i);
            expectedDts += i * 7L;
        }

        Assert.Equal((RowCount, expectedQty, expectedDts, FirstTs, FirstTs + ((RowCount - 1) * 7L), Symbols.Length), (totals[0].N, totals[0].Qty, totals[0].Dts, totals[0].First, totals[0].Last, totals[0].Symbols));

        var some = await client.QueryAsync(
            "SELECT id, symbol, ts, price, qty FROM ticks WHERE id IN (0, 1, 2, 3, 4, 5, 99999) ORDER BY id",
            row => (Id: row.GetProperty("id").GetInt64(), Symbol: row.GetProperty("symbol").GetString(), Ts: row.GetProperty("ts").GetInt64(),
                Price: row.GetProperty("price").GetDouble(), Qty: row.GetProperty("qty").GetInt64()),
            ct);
        Assert.Equal([0L, 1, 2, 3, 4, 5, 99_999], some.Select(r => r.Id));
        foreach (var row in some)
        {
            var i = (int)row.Id;
            Assert.Equal((Symbols[i % Symbols.Length], FirstTs + (i * 7L), Price(i), Qty(i)), (row.Symbol, row.Ts, row.Price, row.Qty));
        }
    }

    [Fact]
    public async Task Insert_Uncompressed_IsAcceptedToo()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await fixture.CreateDatabaseAsync("plain", ct);
        using var client = new ClickHouseHttpClient(fixture.Url, database, null, null, opts: ClickHouseClientOpts.Default with { CompressRequests = false });
        await client.ExecuteAsync("CREATE TABLE t (k Int64, v String) ENGINE = MergeTree ORDER BY k", ct);

        await client.InsertAsync("t", "k, v", async (stream, token) =>
            await stream.WriteAsync("{\"k\":1,\"v\":\"one\"}\n{\"k\":2,\"v\":\"two\"}\n"u8.ToArray(), token), ct);

        var rows = await client.QueryAsync("SELECT k, v FROM t ORDER BY k", r => (r.GetProperty("k").GetInt64(), r.GetProperty("v").GetString()), ct);
        Assert.Equal([(1L, "one"), (2L, "two")], rows);
    }

    [Fact]
    public async Task Execute_WithSyntaxError_ThrowsServerCode62OnceWithOneLineMessage()
    {
        var ct = TestContext.Current.CancellationToken;
        using var recording = new RecordingHandler();
        using var http = recording.Client();
        using var client = new ClickHouseHttpClient(fixture.Url, "default", null, null, http, ClickHouseClientOpts.Default with { BaseDelay = TimeSpan.FromMilliseconds(10) });

        var error = await Assert.ThrowsAsync<ClickHouseException>(() => client.ExecuteAsync("SELEC 1 FROM nowhere", ct));

        Assert.Equal(62, error.Code);
        Assert.False(error.IsTransient);
        Assert.Equal(1, recording.Attempts);
        Assert.DoesNotContain('\n', error.Message);
        Assert.StartsWith("ClickHouse error 62: DB::Exception: Syntax error", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("(query: SELEC 1 FROM nowhere)", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("e.what()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_UnknownTable_ThrowsServerCode60WithoutRetrying()
    {
        var ct = TestContext.Current.CancellationToken;
        using var recording = new RecordingHandler();
        using var http = recording.Client();
        using var client = new ClickHouseHttpClient(fixture.Url, "default", null, null, http);

        var error = await Assert.ThrowsAsync<ClickHouseException>(() => client.QueryAsync("SELECT * FROM no_such_table", r => r, ct));

        Assert.Equal(60, error.Code);
        Assert.Equal(1, recording.Attempts);
    }

    [Fact]
    public async Task Query_FailingAfterTheFirstRowsWereSent_ThrowsTheServerError()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = new ClickHouseHttpClient(fixture.Url, "default", null, null);

        // The server has already answered 200 and streamed rows when the error comes; it arrives as a text line.
        var error = await Assert.ThrowsAsync<ClickHouseException>(() => client.QueryAsync(
            "SELECT number, throwIf(number = 1000000) AS failed FROM system.numbers LIMIT 2000000 SETTINGS max_block_size = 1000", r => 0, ct));

        Assert.Equal(395, error.Code); // FUNCTION_THROW_IF_VALUE_IS_NON_ZERO
        Assert.Equal(System.Net.HttpStatusCode.OK, error.StatusCode);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public async Task Insert_WhenTheRowWriterThrows_RaisesItsExceptionWithoutRetrying()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await fixture.CreateDatabaseAsync("writer", ct);
        using var recording = new RecordingHandler();
        using var http = recording.Client();
        using var client = new ClickHouseHttpClient(fixture.Url, database, null, null, http);
        await client.ExecuteAsync("CREATE TABLE t (k Int64) ENGINE = MergeTree ORDER BY k", ct);
        var attemptsBefore = recording.Attempts;

        var error = await Assert.ThrowsAsync<IOException>(() => client.InsertAsync("t", "k", async (stream, token) =>
        {
            await stream.WriteAsync("{\"k\":1}\n"u8.ToArray(), token);
            throw new IOException("bad row 2"); // an IOException, like a failing source file: still not retried
        }, ct));

        Assert.Equal("bad row 2", error.Message);
        Assert.Equal(attemptsBefore + 1, recording.Attempts);
    }

    [Fact]
    public async Task Credentials_GoInHeaders_AndAWrongPasswordIsRejected()
    {
        var ct = TestContext.Current.CancellationToken;
        using var recording = new RecordingHandler();
        using var http = recording.Client();
        using var good = new ClickHouseHttpClient(fixture.Url, "default", ClickHouseServerProcess.User, ClickHouseServerProcess.Password, http);
        using var bad = new ClickHouseHttpClient(fixture.Url, "default", ClickHouseServerProcess.User, "not-the-password", http);

        // 18.16 has no currentUser(): the query finds itself in system.processes by a marker in its own text.
        var marker = Guid.NewGuid().ToString("N");
        var user = await good.QueryAsync($"SELECT user AS u FROM system.processes WHERE query LIKE '%{marker}%'", r => r.GetProperty("u").GetString(), ct);
        var error = await Assert.ThrowsAsync<ClickHouseException>(() => bad.ExecuteAsync("SELECT 1", ct));

        Assert.Equal([ClickHouseServerProcess.User], user);
        Assert.Equal(193, error.Code); // WRONG_PASSWORD
        Assert.DoesNotContain("not-the-password", error.Message, StringComparison.Ordinal);
        Assert.All(recording.Requests, r =>
        {
            Assert.DoesNotContain("password", r.RequestUri!.ToString(), StringComparison.OrdinalIgnoreCase);
            Assert.Equal(ClickHouseServerProcess.User, r.Headers.GetValues("X-ClickHouse-User").Single());
            Assert.Single(r.Headers.GetValues("X-ClickHouse-Key"));
        });
    }

    [Fact]
    public async Task Ping_AndServerVersion_AnswerFromTheRealServer()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = new ClickHouseHttpClient(fixture.Url, "default", null, null);

        Assert.True(await client.PingAsync(ct));
        Assert.Null(client.ServerVersion);
        var version = await client.GetServerVersionAsync(ct);

        Assert.True(version >= new Version(18, 16), version.ToString());
        Assert.Equal(version, client.ServerVersion);
    }

    [Fact]
    public async Task Insert_WithDeduplicationToken_SendsItOnlyToServersThatHaveTheSetting()
    {
        var ct = TestContext.Current.CancellationToken;
        var database = await fixture.CreateDatabaseAsync("dedup", ct);
        using var recording = new RecordingHandler();
        using var http = recording.Client();
        using var client = new ClickHouseHttpClient(fixture.Url, database, null, null, http);
        await client.ExecuteAsync("CREATE TABLE t (k Int64) ENGINE = MergeTree ORDER BY k", ct);

        await client.InsertAsync("t", "k", (stream, token) => stream.WriteAsync("{\"k\":1}\n"u8.ToArray(), token).AsTask(),
            ClickHouseInsertOpts.Default with { DeduplicationToken = "batch-1" }, ct);

        var insert = recording.Requests.Single(r => r.RequestUri!.Query.Contains("INSERT", StringComparison.Ordinal));
        var supported = client.ServerVersion! >= ClickHouseHttpClient.DeduplicationTokenVersion;
        Assert.Equal(supported, insert.RequestUri!.Query.Contains("insert_deduplication_token=batch-1", StringComparison.Ordinal));
        Assert.Equal([1L], await client.QueryAsync("SELECT count() AS n FROM t", r => r.GetProperty("n").GetInt64(), ct));
    }

    private static long Qty(int i) => (i % 1000) + 1;

    private static double Price(int i) => 100 + (i % 5000 / 100.0);

    private static async Task WriteTicksAsync(Stream stream, CancellationToken cancellationToken)
    {
        var newline = "\n"u8.ToArray();
        await using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { SkipValidation = true });
        for (var i = 0; i < RowCount; i++)
        {
            json.WriteStartObject();
            json.WriteNumber("id", i);
            json.WriteString("symbol", Symbols[i % Symbols.Length]);
            json.WriteNumber("ts", FirstTs + (i * 7L));
            json.WriteNumber("price", Price(i));
            json.WriteNumber("qty", Qty(i));
            json.WriteEndObject();
            await json.FlushAsync(cancellationToken);
            await stream.WriteAsync(newline, cancellationToken);
            json.Reset();
        }
    }
}
