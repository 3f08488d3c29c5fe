using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using System.Text;
using System.Text.Json;
using Breadboard.Core.Seams;
using Polly;
using Polly.Retry;

namespace Breadboard.ClickHouse;

// Why our own client: the only server that installs here is Debian's clickhouse-server 18.16, and the official
// ClickHouse.Driver (1.5) cannot talk to it (it sends settings 18.16 does not know, such as
// output_format_binary_write_json_as_string, and reads RowBinaryWithNamesAndTypes, which 18.16 lacks). The HTTP
// interface used here (POST a query; RowBinary and JSONEachRow in, JSONEachRow out; X-ClickHouse-User/Key headers)
// works from 18.x to 25.x.

/// <summary>A thin client over ClickHouse's HTTP interface: commands, streamed inserts and JSONEachRow queries,
/// with retries on transient failures only, to one server or to the replicas of one shard.</summary>
/// <remarks>Credentials travel in the <c>X-ClickHouse-User</c>/<c>X-ClickHouse-Key</c> headers, never in the URL,
/// and are never logged or put in exception messages. A retried insert sends its rows again: the caller's
/// <c>writeRows</c> is called once per attempt and the table must tolerate a repeated block (ReplacingMergeTree or
/// a deduplication token on servers that have one).
/// With several replicas, requests go to one until it fails; each retry goes to the next one at once, and only after
/// every replica failed in turn is there a pause. A replica that failed is tried again in its turn.</remarks>
public sealed class ClickHouseHttpClient : IDisposable
{
    /// <summary>The first version with the <c>insert_deduplication_token</c> setting.</summary>
    public static readonly Version DeduplicationTokenVersion = new(22, 2);

    private readonly ClickHouseReplica[] _replicas;
    private readonly string _database;
    private readonly string? _user;
    private readonly string? _password;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly ClickHouseClientOpts _opts;
    private readonly ResiliencePipeline _retry;
    private Version? _serverVersion;
    private int _current;

    public ClickHouseHttpClient(Uri baseUrl, string database, string? user, string? password, HttpClient? http = null, ClickHouseClientOpts? opts = null)
        : this([baseUrl], database, user, password, http, opts)
    {
    }

    /// <param name="replicas">The servers: replicas of one shard, tried in this order.</param>
    public ClickHouseHttpClient(IReadOnlyList<Uri> replicas, string database, string? user, string? password, HttpClient? http = null, ClickHouseClientOpts? opts = null)
        : this([.. replicas.Select(url => new ClickHouseReplica(url))], database, user, password, http, opts)
    {
    }

    private ClickHouseHttpClient(ClickHouseReplica[] replicas, string database, string? user, string? password, HttpClient? http, ClickHouseClientOpts? opts)
    {
        ArgumentOutOfRangeException.ThrowIfZero(replicas.Length, nameof(replicas));
        ArgumentException.ThrowIfNullOrWhiteSpace(database);
        _replicas = replicas;
        _database = database;
        _user = user;
        _password = password;
        _ownsHttp = http is null;
        _http = http ?? new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        _opts = opts ?? ClickHouseClientOpts.Default;
        _retry = BuildRetry(_opts, replicas.Length);
    }

    /// <summary>The same servers and credentials on another database, sharing this client's connections and what
    /// it knows of each replica.</summary>
    public ClickHouseHttpClient WithDatabase(string database) => new(_replicas, database, _user, _password, _http, _opts) { _current = _current };

    /// <summary>The URL of the server requests go to now (without credentials).</summary>
    public Uri BaseUrl => _replicas[Volatile.Read(ref _current)].Url;

    /// <summary>Every server, in the order they are tried, with what the last request to each found.</summary>
    public IReadOnlyList<ClickHouseReplica> Replicas => _replicas;

    public string Database => _database;

    /// <summary>The server's version once <see cref="GetServerVersionAsync"/> has read it (<c>SELECT version()</c>);
    /// null before.</summary>
    public Version? ServerVersion => _serverVersion;

    /// <summary>GET <c>/ping</c>, once, without retries: true when the server answers <c>Ok.</c>.</summary>
    public async Task<bool> PingAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(BaseUrl, "ping"));
            using var response = await _http.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            return response.IsSuccessStatusCode && body.StartsWith("Ok.", StringComparison.Ordinal);
        }
        catch (Exception e) when (IsTransport(e, cancellationToken))
        {
            return false;
        }
    }

    /// <summary>
    /// GET <c>/ping</c> of every replica at once, each within <paramref name="timeout"/> and without retries; each
    /// replica's <see cref="ClickHouseReplica.State"/> is what its answer says. Requests keep going where they go:
    /// this only looks.
    /// </summary>
    public async Task<IReadOnlyList<ClickHouseReplicaState>> PingEachAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        return await Task.WhenAll(_replicas.Select(PingAsync));

        async Task<ClickHouseReplicaState> PingAsync(ClickHouseReplica replica)
        {
            using var within = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            within.CancelAfter(timeout);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(replica.Url, "ping"));
                using var response = await _http.SendAsync(request, within.Token);
                var body = await response.Content.ReadAsStringAsync(within.Token);
                if (response.IsSuccessStatusCode && body.StartsWith("Ok.", StringComparison.Ordinal))
                {
                    replica.Answered();
                }
                else
                {
                    replica.Failed($"/ping answered {(int)response.StatusCode}");
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                replica.Failed(string.Create(CultureInfo.InvariantCulture, $"no answer to /ping within {timeout.TotalSeconds:0.#} s"));
            }
            catch (Exception e) when (IsTransport(e, cancellationToken))
            {
                replica.Failed(e);
            }

            return replica.State;
        }
    }

    /// <summary>Reads <c>SELECT version()</c> once and keeps it in <see cref="ServerVersion"/>.</summary>
    public async Task<Version> GetServerVersionAsync(CancellationToken cancellationToken = default)
    {
        if (_serverVersion is { } known)
        {
            return known;
        }

        var rows = await QueryAsync("SELECT version() AS v", row => row.GetProperty("v").GetString()!, cancellationToken);
        var text = rows[0];
        var parts = text.Split('.');
        var version = parts.Length switch
        {
            >= 4 => Version.Parse(string.Join('.', parts.Take(4))),
            >= 2 => Version.Parse(text),
            _ => new Version(int.Parse(text, CultureInfo.InvariantCulture), 0),
        };
        _serverVersion = version;
        return version;
    }

    /// <summary>Runs a command (DDL, <c>OPTIMIZE</c>, <c>INSERT ... SELECT</c>): the SQL is the request body.</summary>
    public Task ExecuteAsync(string sql, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        return RunAsync(sql, async (server, ct) =>
        {
            using var request = Request(Url(server, null, null), new StringContent(sql, Encoding.UTF8));
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            await EnsureSuccessAsync(response, sql, ct);
            await response.Content.ReadAsStringAsync(ct);
            return true;
        }, cancellationToken);
    }

    /// <summary>Streams rows into <paramref name="table"/>: <c>INSERT INTO table (columns) FORMAT JSONEachRow</c>,
    /// the rows written by <paramref name="writeRows"/> straight into the (gzip-compressed) request body.</summary>
    public Task InsertAsync(string table, string columns, Func<Stream, CancellationToken, Task> writeRows, CancellationToken cancellationToken = default) =>
        InsertAsync(table, columns, writeRows, ClickHouseInsertOpts.Default, cancellationToken);

    /// <summary>Streams rows into <paramref name="table"/> in <see cref="ClickHouseInsertOpts.Format"/>.</summary>
    /// <remarks><see cref="ClickHouseInsertOpts.DeduplicationToken"/> is sent only to servers that know
    /// <c>insert_deduplication_token</c> (22.2 and later); older servers (Debian's 18.16) do not get it.</remarks>
    public async Task InsertAsync(string table, string columns, Func<Stream, CancellationToken, Task> writeRows, ClickHouseInsertOpts opts, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(table);
        ArgumentException.ThrowIfNullOrWhiteSpace(columns);
        ArgumentNullException.ThrowIfNull(writeRows);
        ArgumentNullException.ThrowIfNull(opts);

        var settings = new List<KeyValuePair<string, string>>();
        if (_opts.CompressRequests)
        {
            settings.Add(new("enable_http_compression", "1"));
        }

        if (opts.DeduplicationToken is { } token && await GetServerVersionAsync(cancellationToken) >= DeduplicationTokenVersion)
        {
            settings.Add(new("insert_deduplication_token", token));
        }

        var sql = $"INSERT INTO {table} ({columns}) FORMAT {opts.Format}";
        await RunAsync(sql, async (server, ct) =>
        {
            using var content = new RowsContent(writeRows, _opts.CompressRequests, ct);
            using var request = Request(Url(server, sql, settings), content);
            try
            {
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
                await EnsureSuccessAsync(response, sql, ct);
                await response.Content.ReadAsStringAsync(ct);
            }
            catch (Exception) when (content.WriterFailure is { } failure)
            {
                // The caller's rows failed, not the server: no retry (even of an IOException), and in the end the
                // caller's own exception.
                throw new RowWriterFailedException(failure);
            }

            return true;
        }, cancellationToken);
    }

    /// <summary>Runs a query with <c>FORMAT JSONEachRow</c> appended and maps each row as it streams in.</summary>
    /// <remarks>64-bit integers come as JSON numbers (<c>output_format_json_quote_64bit_integers=0</c>). A retried
    /// query starts over: the list holds the rows of the last attempt only.</remarks>
    public Task<List<T>> QueryAsync<T>(string sql, Func<JsonElement, T> map, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        ArgumentNullException.ThrowIfNull(map);
        var fullSql = sql.TrimEnd().TrimEnd(';') + " FORMAT JSONEachRow";
        KeyValuePair<string, string>[] settings = [new("output_format_json_quote_64bit_integers", "0")];
        return RunAsync(fullSql, async (server, ct) =>
        {
            using var request = Request(Url(server, null, settings), new StringContent(fullSql, Encoding.UTF8));
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            await EnsureSuccessAsync(response, fullSql, ct);
            var rows = new List<T>();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct), Encoding.UTF8);
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }

                // An error after the first rows arrives in the body of a 200 answer, as a plain-text line.
                if (line.StartsWith("Code:", StringComparison.Ordinal))
                {
                    throw ClickHouseException.FromResponse(response.StatusCode, null, line, fullSql);
                }

                using var document = JsonDocument.Parse(line);
                rows.Add(map(document.RootElement));
            }

            return rows;
        }, cancellationToken);
    }

    /// <summary>Runs a query with <c>FORMAT RowBinary</c> appended and reads each row of the answer with
    /// <paramref name="read"/>, which takes exactly the row's columns in the order the query names them.</summary>
    /// <remarks>Several times less to send and parse than JSON, for answers of many narrow rows. The server holds
    /// the whole answer back until the query is done (<c>wait_end_of_query</c>): an error in binary rows could not
    /// be told from data, and this way it comes as the status. A retried query starts over.</remarks>
    public Task<List<T>> QueryRowBinaryAsync<T>(string sql, RowBinaryReader.Row<T> read, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        ArgumentNullException.ThrowIfNull(read);
        var fullSql = sql.TrimEnd().TrimEnd(';') + " FORMAT RowBinary";
        KeyValuePair<string, string>[] settings = [new("wait_end_of_query", "1")];
        return RunAsync(fullSql, async (server, ct) =>
        {
            using var request = Request(Url(server, null, settings), new StringContent(fullSql, Encoding.UTF8));
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            await EnsureSuccessAsync(response, fullSql, ct);
            var body = await response.Content.ReadAsByteArrayAsync(ct);
            var rows = new List<T>();
            var reader = new RowBinaryReader(body);
            while (!reader.End)
            {
                rows.Add(read(ref reader));
            }

            return rows;
        }, cancellationToken);
    }

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private async Task<T> RunAsync<T>(string sql, Func<Uri, CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
    {
        try
        {
            return await _retry.ExecuteAsync(async ct =>
            {
                var at = Volatile.Read(ref _current);
                var replica = _replicas[at];
                try
                {
                    var result = await attempt(replica.Url, ct);
                    replica.Answered();
                    return result;
                }
                catch (Exception e) when (IsTransient(e, ct))
                {
                    // The next attempt goes to the next replica (unless another request moved on already).
                    replica.Failed(e);
                    Interlocked.CompareExchange(ref _current, (at + 1) % _replicas.Length, at);
                    throw;
                }
            }, cancellationToken);
        }
        catch (RowWriterFailedException e)
        {
            ExceptionDispatchInfo.Throw(e.InnerException!);
            throw;
        }
        catch (Exception e) when (IsTransport(e, cancellationToken))
        {
            var servers = string.Join(", ", _replicas.Select(r => SecretText.Redact(r.Url.AbsoluteUri)));
            throw new ClickHouseUnavailableException(
                $"ClickHouse at {servers} did not answer after {Attempts(_opts, _replicas.Length)} attempts ({ClickHouseException.Abbreviate(sql)}): {OutsideText.ForDisplay(SecretText.RedactText(e.Message))}", e);
        }
    }

    /// <summary>Every replica gets the first attempt and the retries of <see cref="ClickHouseClientOpts.MaxRetries"/>.</summary>
    private static int Attempts(ClickHouseClientOpts opts, int replicas) => Math.Max(1, (opts.MaxRetries + 1) * replicas);

    private static ResiliencePipeline BuildRetry(ClickHouseClientOpts opts, int replicas)
    {
        if (opts.MaxRetries <= 0 && replicas == 1)
        {
            return ResiliencePipeline.Empty;
        }

        return new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = Attempts(opts, replicas) - 1,
                Delay = opts.BaseDelay,
                MaxDelay = opts.MaxDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,

                // To the next replica at once; the pause comes once every replica has failed in turn.
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>((args.AttemptNumber + 1) % replicas == 0 ? null : TimeSpan.Zero),
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && IsTransient(e, args.Context.CancellationToken)),
            })
            .Build();
    }

    private static bool IsTransient(Exception e, CancellationToken cancellationToken) =>
        e is ClickHouseException { IsTransient: true } || IsTransport(e, cancellationToken);

    /// <summary>Refused, reset, or timed out: the server did not give an answer, as opposed to answering with an
    /// error.</summary>
    private static bool IsTransport(Exception e, CancellationToken cancellationToken) => e switch
    {
        HttpRequestException => true,
        SocketException => true,
        IOException => true,
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        _ => false,
    };

    private HttpRequestMessage Request(Uri url, HttpContent content)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
        if (!string.IsNullOrEmpty(_user))
        {
            request.Headers.Add("X-ClickHouse-User", _user);
        }

        if (!string.IsNullOrEmpty(_password))
        {
            request.Headers.Add("X-ClickHouse-Key", _password);
        }

        return request;
    }

    private Uri Url(Uri server, string? query, IEnumerable<KeyValuePair<string, string>>? settings)
    {
        var builder = new StringBuilder("?database=").Append(Uri.EscapeDataString(_database));
        if (query is not null)
        {
            builder.Append("&query=").Append(Uri.EscapeDataString(query));
        }

        foreach (var (name, value) in settings ?? [])
        {
            builder.Append('&').Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
        }

        return new Uri(server, builder.ToString());
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string sql, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var codeHeader = response.Headers.TryGetValues("X-ClickHouse-Exception-Code", out var values) ? values.FirstOrDefault() : null;
        throw ClickHouseException.FromResponse(response.StatusCode, codeHeader, body, sql);
    }

    /// <summary>Carries the exception of the caller's row writer through the retry pipeline, which does not retry it.</summary>
    private sealed class RowWriterFailedException(Exception inner) : Exception(inner.Message, inner);

    /// <summary>A request body the caller writes into as it is sent, without buffering the rows.</summary>
    private sealed class RowsContent : HttpContent
    {
        private readonly Func<Stream, CancellationToken, Task> _write;
        private readonly bool _gzip;
        private readonly CancellationToken _cancellationToken;

        public RowsContent(Func<Stream, CancellationToken, Task> write, bool gzip, CancellationToken cancellationToken)
        {
            _write = write;
            _gzip = gzip;
            _cancellationToken = cancellationToken;
            Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            if (gzip)
            {
                Headers.ContentEncoding.Add("gzip");
            }
        }

        /// <summary>What the caller's writer threw, as opposed to a failure of the connection.</summary>
        public Exception? WriterFailure { get; private set; }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, _cancellationToken);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            if (_gzip)
            {
                var gzip = new GZipStream(stream, CompressionLevel.Fastest, leaveOpen: true);
                await using (gzip.ConfigureAwait(false))
                {
                    await WriteAsync(gzip, cancellationToken);
                }
            }
            else
            {
                await WriteAsync(stream, cancellationToken);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }

        private async Task WriteAsync(Stream stream, CancellationToken cancellationToken)
        {
            var guarded = new WriterStream(stream);
            try
            {
                await _write(guarded, cancellationToken);
            }
            catch (Exception e) when (!guarded.Failed && e is not OperationCanceledException)
            {
                WriterFailure = e;
                throw;
            }
        }
    }

    /// <summary>Passes writes through and remembers whether the connection underneath failed, so that an
    /// <see cref="IOException"/> of the network is told apart from one the caller's code threw.</summary>
    private sealed class WriterStream(Stream inner) : Stream
    {
        public bool Failed { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => Guard(inner.Flush);

        public override Task FlushAsync(CancellationToken cancellationToken) => GuardAsync(() => inner.FlushAsync(cancellationToken));

        public override void Write(byte[] buffer, int offset, int count) => Guard(() => inner.Write(buffer, offset, count));

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            new(GuardAsync(() => inner.WriteAsync(buffer, cancellationToken).AsTask()));

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            GuardAsync(() => inner.WriteAsync(buffer, offset, count, cancellationToken));

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        private void Guard(Action action)
        {
            try
            {
                action();
            }
            catch
            {
                Failed = true;
                throw;
            }
        }

        private async Task GuardAsync(Func<Task> action)
        {
            try
            {
                await action();
            }
            catch
            {
                Failed = true;
                throw;
            }
        }
    }
}
