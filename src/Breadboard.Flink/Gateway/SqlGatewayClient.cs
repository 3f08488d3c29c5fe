using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Breadboard.Core.Seams;
using Polly;
using Polly.Retry;

namespace Breadboard.Flink.Gateway;

/// <summary>A client of Flink's SQL Gateway REST API, version v2: sessions, statements, operation status and results.</summary>
/// <remarks>
/// Field names and paths are those of Flink 1.20's flink-sql-gateway: <c>OpenSessionRequestBody</c> (sessionName,
/// properties), <c>ExecuteStatementRequestBody</c> (statement, executionTimeout, executionConfig),
/// <c>OperationStatusResponseBody</c> (status), <c>FetchResultsResponseBodySerializer</c> (resultType, isQueryResult,
/// jobID, resultKind, results, nextResultUri), <c>ResultInfoSerializer</c> (columns, rowFormat, data[].kind/fields),
/// <c>FetchResultsHeaders.buildNextUri</c> (<c>/v2/…/result/N?rowFormat=JSON</c>, absent at the end) and flink-runtime's
/// <c>ErrorResponseBody</c> (errors). v2 is the default version since Flink 1.17 and carries every v1 endpoint.
/// Retries are only for idempotent GETs that met a connection failure or a proxy's 502/503/504: the gateway answers a
/// failed statement with 500, which a retry cannot change.
/// </remarks>
public sealed class SqlGatewayClient : IDisposable
{
    private const string Api = "v2";

    private readonly HttpClient _http;
    private readonly SqlGatewayOpts _opts;
    private readonly ResiliencePipeline<HttpResponseMessage> _getPipeline;

    /// <param name="handler">For tests; the client does not dispose it.</param>
    public SqlGatewayClient(Uri baseAddress, SqlGatewayOpts? opts = null, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        _opts = opts ?? SqlGatewayOpts.Default;
        BaseAddress = baseAddress.AbsoluteUri.EndsWith('/') ? baseAddress : new Uri(baseAddress.AbsoluteUri + "/");
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.BaseAddress = BaseAddress;
        _http.Timeout = _opts.RequestTimeout;
        _getPipeline = _opts.GetAttempts <= 1
            ? ResiliencePipeline<HttpResponseMessage>.Empty
            : new ResiliencePipelineBuilder<HttpResponseMessage>()
                .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
                {
                    MaxRetryAttempts = _opts.GetAttempts - 1,
                    Delay = TimeSpan.FromMilliseconds(200),
                    BackoffType = DelayBackoffType.Exponential,
                    ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                        .Handle<HttpRequestException>()
                        .HandleResult(r => r.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout),
                })
                .Build();
    }

    /// <summary>The gateway's base address, ending in <c>/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The gateway's address as messages show it, credentials redacted.</summary>
    private string Where => SecretText.Redact(BaseAddress.AbsoluteUri);

    public async Task<SqlGatewayInfo> GetInfoAsync(CancellationToken cancellationToken = default)
    {
        using var doc = await SendAsync(HttpMethod.Get, $"{Api}/info", null, null, cancellationToken);
        return new SqlGatewayInfo(Text(doc.RootElement, "productName") ?? "", Text(doc.RootElement, "version") ?? "");
    }

    /// <param name="properties">Session configuration, as <c>SET</c> would give it.</param>
    public async Task<SqlGatewaySession> OpenSessionAsync(string? sessionName = null, IReadOnlyDictionary<string, string>? properties = null, CancellationToken cancellationToken = default)
    {
        var body = new OpenSessionBody(sessionName, properties);
        using var doc = await SendAsync(HttpMethod.Post, $"{Api}/sessions", JsonSerializer.Serialize(body), null, cancellationToken);
        var handle = Text(doc.RootElement, "sessionHandle");
        return string.IsNullOrEmpty(handle)
            ? throw new FlinkGatewayException($"Flink SQL Gateway at {Where} opened a session without a sessionHandle")
            : new SqlGatewaySession(handle);
    }

    /// <summary>Closes the session and with it the operations still open in it; jobs it submitted keep running.</summary>
    public async Task CloseSessionAsync(SqlGatewaySession session, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        using var _ = await SendAsync(HttpMethod.Delete, $"{Api}/sessions/{Escape(session.Handle)}", null, null, cancellationToken);
    }

    /// <summary>Submits a statement (without a trailing <c>;</c>); it runs asynchronously on the gateway.</summary>
    public async Task<SqlGatewayOperation> ExecuteAsync(SqlGatewaySession session, string statement, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentException.ThrowIfNullOrWhiteSpace(statement);
        var body = JsonSerializer.Serialize(new ExecuteStatementBody(statement));
        using var doc = await SendAsync(HttpMethod.Post, $"{Api}/sessions/{Escape(session.Handle)}/statements", body, statement, cancellationToken);
        var handle = Text(doc.RootElement, "operationHandle");
        return string.IsNullOrEmpty(handle)
            ? throw new FlinkGatewayException($"{FlinkGatewayException.Summarize(statement)}: the gateway returned no operationHandle") { Statement = statement }
            : new SqlGatewayOperation(session, handle, statement);
    }

    /// <summary>The operation's status: INITIALIZED, PENDING, RUNNING, FINISHED, CANCELED, CLOSED, ERROR or TIMEOUT.</summary>
    public async Task<string> GetStatusAsync(SqlGatewayOperation operation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        using var doc = await SendAsync(HttpMethod.Get, $"{OperationPath(operation)}/status", null, operation.Statement, cancellationToken);
        return Text(doc.RootElement, "status") ?? "";
    }

    /// <summary>
    /// Polls the status until FINISHED, waiting <see cref="SqlGatewayOpts.MinPollInterval"/> doubling to
    /// <see cref="SqlGatewayOpts.MaxPollInterval"/>; an operation still running after
    /// <see cref="SqlGatewayOpts.OperationTimeout"/> is cancelled.
    /// </summary>
    /// <exception cref="FlinkGatewayException">The statement failed (the message carries the gateway's root cause), ended otherwise, or timed out.</exception>
    public async Task WaitAsync(SqlGatewayOperation operation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var started = Stopwatch.GetTimestamp();
        var delay = _opts.MinPollInterval;
        while (true)
        {
            var status = await GetStatusAsync(operation, cancellationToken);
            switch (status)
            {
                case "FINISHED":
                    return;
                case "ERROR":
                    throw await ErrorOfAsync(operation, cancellationToken);
                case "CANCELED" or "CLOSED" or "TIMEOUT":
                    throw Failed(operation.Statement, $"the gateway reports the statement {status}");
            }

            if (Stopwatch.GetElapsedTime(started) >= _opts.OperationTimeout)
            {
                await TryCancelAsync(operation);
                throw Failed(operation.Statement, $"not finished after {Seconds(_opts.OperationTimeout)} (status {status}); cancelled");
            }

            await Task.Delay(delay, cancellationToken);
            delay = Next(delay);
        }
    }

    /// <summary>Every page of the operation's result, following <c>nextResultUri</c> until EOS; NOT_READY pages are polled like the status.</summary>
    public async Task<SqlGatewayResult> FetchAllAsync(SqlGatewayOperation operation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var started = Stopwatch.GetTimestamp();
        var delay = _opts.MinPollInterval;
        string? next = $"{OperationPath(operation)}/result/0?rowFormat=JSON";
        var columns = new List<string>();
        var rows = new List<SqlGatewayRow>();
        string? jobId = null;
        string? resultKind = null;
        while (next is not null)
        {
            using var doc = await SendAsync(HttpMethod.Get, next, null, operation.Statement, cancellationToken);
            var root = doc.RootElement;
            var type = Text(root, "resultType");
            var nextUri = Text(root, "nextResultUri");
            if (type == "NOT_READY")
            {
                if (Stopwatch.GetElapsedTime(started) >= _opts.OperationTimeout)
                {
                    await TryCancelAsync(operation);
                    throw Failed(operation.Statement, $"no result after {Seconds(_opts.OperationTimeout)}; cancelled");
                }

                await Task.Delay(delay, cancellationToken);
                delay = Next(delay);
                next = nextUri is null ? next : FromRoot(nextUri);
                continue;
            }

            if (type is not ("PAYLOAD" or "EOS"))
            {
                throw Failed(operation.Statement, $"the gateway sent a result of type '{type}'");
            }

            jobId ??= Text(root, "jobID");
            resultKind ??= Text(root, "resultKind");
            if (root.TryGetProperty("results", out var results) && results.ValueKind == JsonValueKind.Object)
            {
                Read(results, columns, rows);
            }

            delay = _opts.MinPollInterval;
            next = type == "EOS" || nextUri is null ? null : FromRoot(nextUri);
        }

        return new SqlGatewayResult(columns, rows, jobId, resultKind);
    }

    /// <summary><see cref="ExecuteAsync"/>, <see cref="WaitAsync"/> and <see cref="FetchAllAsync"/>.</summary>
    public async Task<SqlGatewayResult> RunAsync(SqlGatewaySession session, string statement, CancellationToken cancellationToken = default)
    {
        var operation = await ExecuteAsync(session, statement, cancellationToken);
        await WaitAsync(operation, cancellationToken);
        return await FetchAllAsync(operation, cancellationToken);
    }

    public async Task CancelAsync(SqlGatewayOperation operation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        using var _ = await SendAsync(HttpMethod.Post, $"{OperationPath(operation)}/cancel", null, operation.Statement, cancellationToken);
    }

    public async Task CloseAsync(SqlGatewayOperation operation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        using var _ = await SendAsync(HttpMethod.Delete, $"{OperationPath(operation)}/close", null, operation.Statement, cancellationToken);
    }

    public void Dispose() => _http.Dispose();

    private static string OperationPath(SqlGatewayOperation o) => $"{Api}/sessions/{Escape(o.Session.Handle)}/operations/{Escape(o.Handle)}";

    private static string Escape(string handle) => Uri.EscapeDataString(handle);

    /// <summary>nextResultUri is absolute from the gateway's root; a gateway behind a proxy keeps the proxy's path prefix.</summary>
    private string FromRoot(string uri) => uri.StartsWith('/') ? BaseAddress.AbsolutePath.TrimEnd('/') + uri : uri;

    private TimeSpan Next(TimeSpan delay) => delay * 2 < _opts.MaxPollInterval ? delay * 2 : _opts.MaxPollInterval;

    private static string Seconds(TimeSpan t) => string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.###} s");

    private static FlinkGatewayException Failed(string statement, string why) =>
        new($"{FlinkGatewayException.Summarize(statement)}: {why}") { Statement = statement };

    /// <summary>The gateway keeps a failed statement's exception for the result request, which answers 500 with it.</summary>
    private async Task<FlinkGatewayException> ErrorOfAsync(SqlGatewayOperation operation, CancellationToken cancellationToken)
    {
        try
        {
            using var _ = await SendAsync(HttpMethod.Get, $"{OperationPath(operation)}/result/0?rowFormat=JSON", null, operation.Statement, cancellationToken);
        }
        catch (FlinkGatewayException e)
        {
            return e;
        }

        return Failed(operation.Statement, "failed (status ERROR) and the gateway gave no reason");
    }

    private async Task TryCancelAsync(SqlGatewayOperation operation)
    {
        try
        {
            using var cts = new CancellationTokenSource(_opts.RequestTimeout);
            await CancelAsync(operation, cts.Token);
        }
        catch (Exception e) when (e is FlinkGatewayException or OperationCanceledException)
        {
            // Best effort: the timeout is what the caller must hear about; the gateway drops the operation with its session.
        }
    }

    private static void Read(JsonElement results, List<string> columns, List<SqlGatewayRow> rows)
    {
        if (columns.Count == 0 && results.TryGetProperty("columns", out var cols) && cols.ValueKind == JsonValueKind.Array)
        {
            foreach (var c in cols.EnumerateArray())
            {
                columns.Add(Text(c, "name") ?? "");
            }
        }

        if (!results.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        foreach (var row in data.EnumerateArray())
        {
            var fields = new List<string?>();
            if (row.TryGetProperty("fields", out var values) && values.ValueKind == JsonValueKind.Array)
            {
                foreach (var v in values.EnumerateArray())
                {
                    fields.Add(v.ValueKind switch
                    {
                        JsonValueKind.String => v.GetString(),
                        JsonValueKind.Null => null,
                        _ => v.GetRawText(),
                    });
                }
            }

            rows.Add(new SqlGatewayRow(Text(row, "kind") ?? "INSERT", fields));
        }
    }

    private static string? Text(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>One request; every failure becomes a one-line <see cref="FlinkGatewayException"/>.</summary>
    private async Task<JsonDocument> SendAsync(HttpMethod method, string path, string? json, string? statement, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            if (method == HttpMethod.Get)
            {
                response = await _getPipeline.ExecuteAsync(async token => await _http.GetAsync(path, token), cancellationToken);
            }
            else
            {
                using var request = new HttpRequestMessage(method, path);
                if (json is not null)
                {
                    request.Content = new StringContent(json, Encoding.UTF8, "application/json");
                }

                response = await _http.SendAsync(request, cancellationToken);
            }
        }
        catch (HttpRequestException e)
        {
            throw new FlinkGatewayException($"Flink SQL Gateway at {Where} is not reachable: {FirstLine(e.Message)}", e) { Statement = statement };
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new FlinkGatewayException($"Flink SQL Gateway at {Where} did not answer {method} /{Path(path)} within {Seconds(_opts.RequestTimeout)}", e) { Statement = statement };
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw Refused(response.StatusCode, method, path, text, statement);
            }

            try
            {
                return JsonDocument.Parse(string.IsNullOrWhiteSpace(text) ? "{}" : text);
            }
            catch (JsonException e)
            {
                throw new FlinkGatewayException($"Flink SQL Gateway at {Where} answered {method} /{Path(path)} with something other than JSON", e) { Statement = statement };
            }
        }
    }

    private FlinkGatewayException Refused(HttpStatusCode code, HttpMethod method, string path, string body, string? statement)
    {
        var errors = Errors(body);
        var cause = FlinkGatewayException.RootCause(errors) ?? $"HTTP {(int)code} {code}";
        var where = statement is null
            ? $"Flink SQL Gateway at {Where} refused {method} /{Path(path)}"
            : FlinkGatewayException.Summarize(statement);
        return new FlinkGatewayException($"{where}: {cause}") { Statement = statement, Cause = cause };
    }

    private static List<string> Errors(string body)
    {
        var errors = new List<string>();
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("errors", out var list)
                && list.ValueKind == JsonValueKind.Array)
            {
                foreach (var e in list.EnumerateArray())
                {
                    if (e.ValueKind == JsonValueKind.String)
                    {
                        errors.Add(e.GetString()!);
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not Flink's error body (a proxy's page, say): the status code is all there is.
        }

        return errors;
    }

    private static string Path(string path)
    {
        var q = path.IndexOf('?', StringComparison.Ordinal);
        return (q < 0 ? path : path[..q]).TrimStart('/');
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOf('\n', StringComparison.Ordinal);
        return OutsideText.ForDisplay(SecretText.RedactText(end < 0 ? message : message[..end]));
    }

    private sealed record OpenSessionBody(
        [property: JsonPropertyName("sessionName"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? SessionName,
        [property: JsonPropertyName("properties"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string>? Properties);

    private sealed record ExecuteStatementBody([property: JsonPropertyName("statement")] string Statement);
}
