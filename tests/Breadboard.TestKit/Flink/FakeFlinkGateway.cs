using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Breadboard.TestKit.Flink;

/// <summary>
/// A Kestrel server on a free loopback port that answers as Flink 1.20's SQL Gateway REST API (v1/v2) does, with an
/// in-memory cluster behind it, and keeps every request.
/// </summary>
/// <remarks>
/// Shapes follow flink-sql-gateway's message bodies and serializers: operations go PENDING → RUNNING → FINISHED over
/// <see cref="PollsToFinish"/> status polls; a result's first fetch is NOT_READY, then two PAYLOAD pages linked by
/// <c>nextResultUri</c> (<c>/v2/…/result/N?rowFormat=JSON</c>), then EOS without one. A failed statement has status
/// ERROR and its result request answers 500 with flink-runtime's <c>{"errors":["Internal server error.", "&lt;Exception
/// on server side:…"]}</c>. SET, SHOW JOBS, STOP JOB and job submission (INSERT, EXECUTE STATEMENT SET) act on the
/// session and the fake cluster's <see cref="Jobs"/>; every other statement just succeeds.
/// </remarks>
public sealed partial class FakeFlinkGateway : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Session> _sessions = new();
    private readonly Lock _lock = new();

    private FakeFlinkGateway(WebApplication app) => _app = app;

    /// <param name="Session">The session handle in the path, if any.</param>
    /// <param name="Statement">The statement of a POST …/statements.</param>
    public sealed record Request(string Method, string Path, string? Session, string? Statement);

    /// <summary>A job on the fake cluster.</summary>
    /// <param name="RestoredFrom">The session's <c>execution.state-recovery.path</c> when it was submitted.</param>
    public sealed record Job(string Id, string Name, string Status, DateTimeOffset StartTime, string? RestoredFrom = null);

    public ConcurrentQueue<Request> Requests { get; } = new();

    /// <summary>The cluster's jobs, oldest first; tests may add to it before a call.</summary>
    public List<Job> Jobs { get; } = [];

    /// <summary>The gateway's base URL, ending in a slash.</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>The engine setting for this gateway: <c>flink+http://127.0.0.1:PORT</c>.</summary>
    public string EngineUrl => "flink+" + Url.GetLeftPart(UriPartial.Authority);

    /// <summary>Status polls before an operation is FINISHED (the first polls see PENDING, then RUNNING).</summary>
    public int PollsToFinish { get; set; } = 2;

    /// <summary>A statement this returns a cause for fails with it, e.g. <c>org.apache.flink.table.api.ValidationException: …</c>.</summary>
    public Func<string, string?> FailWith { get; set; } = _ => null;

    /// <summary>A statement this is true for stays RUNNING until cancelled.</summary>
    public Func<string, bool> NeverFinishes { get; set; } = _ => false;

    /// <summary>Where STOP JOB … WITH SAVEPOINT puts savepoints.</summary>
    public string SavepointDirectory { get; set; } = "file:/tmp/flink-savepoints";

    /// <summary>Sessions opened, by handle, in order.</summary>
    public IReadOnlyList<string> OpenedSessions => [.. Requests.Where(r => r.Method == "POST" && r.Path.EndsWith("/sessions", StringComparison.Ordinal)).Select(r => r.Session!)];

    /// <summary>Sessions closed (DELETE /sessions/{handle}), in order.</summary>
    public IReadOnlyList<string> ClosedSessions => [.. Requests.Where(r => r.Method == "DELETE" && SessionPath().IsMatch(r.Path)).Select(r => r.Session!)];

    /// <summary>The statements submitted, in order, over all sessions.</summary>
    public IReadOnlyList<string> Statements => [.. Requests.Where(r => r.Statement is not null).Select(r => r.Statement!)];

    public static async Task<FakeFlinkGateway> StartAsync(CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var gateway = new FakeFlinkGateway(app);
        app.Run(gateway.HandleAsync);
        await app.StartAsync(cancellationToken);
        gateway.Url = new Uri(app.Urls.First().TrimEnd('/') + "/");
        return gateway;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>An error body as Flink's REST handlers write an unhandled server-side exception.</summary>
    public static string ErrorBody(string wrapper, string cause) =>
        new JsonObject
        {
            ["errors"] = new JsonArray(
                "Internal server error.",
                "<Exception on server side:\n"
                + $"org.apache.flink.table.gateway.api.utils.SqlGatewayException: {wrapper}\n"
                + "\tat org.apache.flink.table.gateway.rest.handler.statement.FetchResultsHandler.handleRequest(FetchResultsHandler.java:91)\n"
                + "\tat org.apache.flink.table.gateway.rest.handler.AbstractSqlGatewayRestHandler.respondToRequest(AbstractSqlGatewayRestHandler.java:84)\n"
                + $"Caused by: org.apache.flink.table.gateway.service.utils.SqlExecutionException: Failed to execute the operation.\n"
                + "\tat org.apache.flink.table.gateway.service.operation.OperationManager$Operation.processThrowable(OperationManager.java:414)\n"
                + $"Caused by: {cause}\n"
                + "\tat org.apache.flink.table.planner.operations.SqlNodeToOperationConversion.convert(SqlNodeToOperationConversion.java:259)\n"
                + "\t... 12 more\n"
                + "\nEnd of exception on server side>"),
        }.ToJsonString();

    private async Task HandleAsync(HttpContext context)
    {
        var method = context.Request.Method;
        var path = context.Request.Path.ToString();
        string? body = null;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.ContentType.Count > 0)
        {
            using var reader = new StreamReader(context.Request.Body);
            body = await reader.ReadToEndAsync(context.RequestAborted);
        }

        var (status, json) = Answer(method, path, body);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=UTF-8";
        await context.Response.WriteAsync(json, context.RequestAborted);
    }

    private (int Status, string Json) Answer(string method, string path, string? body)
    {
        if (VersionedPath().Match(path) is not { Success: true } versioned)
        {
            Requests.Enqueue(new Request(method, path, null, null));
            return (404, """{"errors":["Not found: /bad/request"]}""");
        }

        var rest = versioned.Groups["rest"].Value;
        if (method == "GET" && rest is "/info")
        {
            Requests.Enqueue(new Request(method, path, null, null));
            return (200, """{"productName":"Apache Flink","version":"1.20.1"}""");
        }

        if (method == "GET" && rest is "/api_versions")
        {
            Requests.Enqueue(new Request(method, path, null, null));
            return (200, """{"versions":["V1","V2","V3"]}""");
        }

        if (method == "POST" && rest == "/sessions")
        {
            var handle = Guid.NewGuid().ToString();
            var session = new Session(handle);
            if (body is not null && JsonNode.Parse(body)?["properties"] is JsonObject properties)
            {
                foreach (var (k, v) in properties)
                {
                    session.Config[k] = v?.GetValue<string>() ?? "";
                }
            }

            _sessions[handle] = session;
            Requests.Enqueue(new Request(method, path, handle, null));
            return (200, new JsonObject { ["sessionHandle"] = handle }.ToJsonString());
        }

        var m = SessionRoute().Match(rest);
        if (!m.Success)
        {
            Requests.Enqueue(new Request(method, path, null, null));
            return (404, """{"errors":["Not found: /bad/request"]}""");
        }

        var sessionHandle = m.Groups["session"].Value;
        var tail = m.Groups["tail"].Value;
        string? statement = null;
        if (method == "POST" && tail == "/statements" && body is not null)
        {
            statement = JsonNode.Parse(body)?["statement"]?.GetValue<string>();
        }

        Requests.Enqueue(new Request(method, path, sessionHandle, statement));
        if (!_sessions.TryGetValue(sessionHandle, out var s) || s.Closed)
        {
            return (500, ErrorBody($"Failed to {method} {tail}.", $"org.apache.flink.table.gateway.api.utils.SqlGatewayException: Session '{sessionHandle}' does not exist."));
        }

        lock (_lock)
        {
            return (method, tail) switch
            {
                ("DELETE", "") => CloseSession(s),
                ("POST", "/heartbeat") => (200, "{}"),
                ("POST", "/statements") when statement is not null => Submit(s, statement),
                _ when OperationRoute().Match(tail) is { Success: true } op => OnOperation(s, method, op.Groups["op"].Value, op.Groups["action"].Value, path),
                _ => (404, """{"errors":["Not found: /bad/request"]}"""),
            };
        }
    }

    private static (int, string) CloseSession(Session s)
    {
        s.Closed = true;
        return (200, """{"status":"CLOSED"}""");
    }

    private (int, string) Submit(Session s, string statement)
    {
        var op = new Operation(Guid.NewGuid().ToString(), s.Handle);
        s.Operations[op.Handle] = op;
        var cause = FailWith(statement);
        if (cause is not null)
        {
            op.Cause = cause;
        }
        else if (!NeverFinishes(statement))
        {
            (op.Result, op.Cause) = Execute(s, statement);
        }

        return (200, new JsonObject { ["operationHandle"] = op.Handle }.ToJsonString());
    }

    private (int, string) OnOperation(Session s, string method, string handle, string action, string path)
    {
        if (!s.Operations.TryGetValue(handle, out var op))
        {
            return (500, ErrorBody($"Failed to {action}.", $"org.apache.flink.table.gateway.api.utils.SqlGatewayException: Can not find the submitted operation in the OperationManager with the {handle}."));
        }

        switch (method, action)
        {
            case ("GET", "status"):
                return (200, new JsonObject { ["status"] = Status(op) }.ToJsonString());
            case ("POST", "cancel"):
                op.Canceled = true;
                return (200, new JsonObject { ["status"] = "CANCELED" }.ToJsonString());
            case ("DELETE", "close"):
                s.Operations.TryRemove(handle, out _);
                return (200, new JsonObject { ["status"] = "CLOSED" }.ToJsonString());
            case ("GET", _) when action.StartsWith("result/", StringComparison.Ordinal):
                return Fetch(op, int.Parse(action["result/".Length..], CultureInfo.InvariantCulture), VersionedPath().Match(path).Groups["version"].Value);
            default:
                return (404, """{"errors":["Not found: /bad/request"]}""");
        }
    }

    private string Status(Operation op)
    {
        if (op.Canceled)
        {
            return "CANCELED";
        }

        var seen = op.Polls + op.Fetches;
        op.Polls++;
        if (!Done(op, seen))
        {
            return seen == 0 ? "PENDING" : "RUNNING";
        }

        return op.Cause is null ? "FINISHED" : "ERROR";
    }

    /// <summary>An operation finishes after it has been asked about (status or result) <see cref="PollsToFinish"/> times.</summary>
    private bool Done(Operation op, int seen) => seen >= PollsToFinish && (op.Result is not null || op.Cause is not null);

    private (int, string) Fetch(Operation op, int token, string version)
    {
        if (op.Canceled)
        {
            return (500, ErrorBody("Failed to fetchResults.", "org.apache.flink.table.gateway.api.utils.SqlGatewayException: The operation is canceled."));
        }

        var seen = op.Polls + op.Fetches;
        var first = op.Fetches++ == 0;
        var next = $"/v{version}/sessions/{op.Session}/operations/{op.Handle}/result/";
        if (op.Cause is not null && Done(op, seen))
        {
            return (500, ErrorBody("Failed to fetchResults.", op.Cause));
        }

        if (first || !Done(op, seen))
        {
            // The first fetch comes before the results are ready, as with a job submission in flight.
            return (200, new JsonObject { ["resultType"] = "NOT_READY", ["nextResultUri"] = Next(next, token, version) }.ToJsonString());
        }

        var result = op.Result!;
        var half = (result.Rows.Count + 1) / 2;
        var (rows, type, hasNext) = token switch
        {
            0 => (result.Rows.Take(half), "PAYLOAD", true),
            1 => (result.Rows.Skip(half), "PAYLOAD", true),
            _ => (Enumerable.Empty<string?[]>(), "EOS", false),
        };
        var page = new JsonObject
        {
            ["resultType"] = type,
            ["isQueryResult"] = false,
            ["resultKind"] = result.JobId is null && result.Columns[0] == "result" ? "SUCCESS" : "SUCCESS_WITH_CONTENT",
            ["results"] = new JsonObject
            {
                ["columns"] = new JsonArray([.. result.Columns.Select(c => (JsonNode)new JsonObject
                {
                    ["name"] = c,
                    ["logicalType"] = new JsonObject { ["type"] = c == "start time" ? "TIMESTAMP_WITH_LOCAL_TIME_ZONE" : "VARCHAR", ["nullable"] = true, ["length"] = 2147483647 },
                    ["comment"] = null,
                })]),
                ["rowFormat"] = "JSON",
                ["data"] = new JsonArray([.. rows.Select(r => (JsonNode)new JsonObject
                {
                    ["kind"] = "INSERT",
                    ["fields"] = new JsonArray([.. r.Select(f => (JsonNode?)(f is null ? null : JsonValue.Create(f)))]),
                })]),
            },
        };
        if (result.JobId is not null)
        {
            page["jobID"] = result.JobId;
        }

        if (hasNext)
        {
            page["nextResultUri"] = Next(next, token + 1, version);
        }

        return (200, page.ToJsonString());
    }

    private static string Next(string prefix, int token, string version) =>
        prefix + token.ToString(CultureInfo.InvariantCulture) + (version == "1" ? "" : "?rowFormat=JSON");

    /// <summary>What the statement does to the session and the cluster, and the rows it returns.</summary>
    private (Result? Result, string? Cause) Execute(Session s, string statement)
    {
        var text = statement.Trim();
        if (SetStatement().Match(text) is { Success: true } set)
        {
            s.Config[set.Groups["key"].Value] = set.Groups["value"].Value.Replace("''", "'", StringComparison.Ordinal);
            return (Ok(), null);
        }

        if (text.Equals("SHOW JOBS", StringComparison.OrdinalIgnoreCase))
        {
            return (new Result(["job id", "job name", "status", "start time"], [.. Jobs.Select(j => new string?[] { j.Id, j.Name, j.Status, j.StartTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) })], null), null);
        }

        if (StopJob().Match(text) is { Success: true } stop)
        {
            var id = stop.Groups["id"].Value;
            var index = Jobs.FindIndex(j => j.Id == id);
            if (index < 0)
            {
                return (null, $"org.apache.flink.runtime.messages.FlinkJobNotFoundException: Could not find Flink job ({id})");
            }

            var withSavepoint = stop.Groups["savepoint"].Success;
            Jobs[index] = Jobs[index] with { Status = withSavepoint ? "FINISHED" : "CANCELED" };
            return withSavepoint
                ? (new Result(["savepoint path"], [[$"{SavepointDirectory}/savepoint-{id[..6]}-{Guid.NewGuid().ToString("N")[..12]}"]], null), null)
                : (Ok(), null);
        }

        if (text.StartsWith("EXECUTE STATEMENT SET", StringComparison.OrdinalIgnoreCase) || text.StartsWith("INSERT", StringComparison.OrdinalIgnoreCase))
        {
            var id = Guid.NewGuid().ToString("N");
            s.Config.TryGetValue("pipeline.name", out var name);
            s.Config.TryGetValue("execution.state-recovery.path", out var restored);
            Jobs.Add(new Job(id, name ?? "insert-into_default_catalog.default_database.sink", "RUNNING", DateTimeOffset.UtcNow, restored));
            return (new Result(["job id"], [[id]], id), null);
        }

        return (Ok(), null);
    }

    private static Result Ok() => new(["result"], [["OK"]], null);

    private sealed class Session(string handle)
    {
        public string Handle { get; } = handle;

        public bool Closed { get; set; }

        public ConcurrentDictionary<string, string> Config { get; } = new(StringComparer.Ordinal);

        public ConcurrentDictionary<string, Operation> Operations { get; } = new(StringComparer.Ordinal);
    }

    private sealed class Operation(string handle, string session)
    {
        public string Handle { get; } = handle;

        public string Session { get; } = session;

        public Result? Result { get; set; }

        public string? Cause { get; set; }

        public bool Canceled { get; set; }

        public int Polls { get; set; }

        public int Fetches { get; set; }
    }

    private sealed record Result(IReadOnlyList<string> Columns, IReadOnlyList<string?[]> Rows, string? JobId);

    [GeneratedRegex(@"^/v(?<version>[1-3])(?<rest>/.*)$")]
    private static partial Regex VersionedPath();

    [GeneratedRegex(@"^/sessions/(?<session>[^/]+)(?<tail>/.*)?$")]
    private static partial Regex SessionRoute();

    [GeneratedRegex(@"^/v[1-3]/sessions/[^/]+$")]
    private static partial Regex SessionPath();

    [GeneratedRegex(@"^/operations/(?<op>[^/]+)/(?<action>status|cancel|close|result/\d+)$")]
    private static partial Regex OperationRoute();

    [GeneratedRegex(@"^SET\s+'(?<key>[^']+)'\s*=\s*'(?<value>(?:[^']|'')*)'$", RegexOptions.IgnoreCase)]
    private static partial Regex SetStatement();

    [GeneratedRegex(@"^STOP\s+JOB\s+'(?<id>[0-9a-f]{32})'(?<savepoint>\s+WITH\s+SAVEPOINT)?", RegexOptions.IgnoreCase)]
    private static partial Regex StopJob();
}
