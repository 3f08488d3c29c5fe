using System.Globalization;
using System.Text;
using System.Text.Json;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Runtime.Faces;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Breadboard.Web.Api;

/// <summary>
/// <c>POST /api/backtest</c>: a proposed rule run over the last hours of the store, under the running pipeline's
/// windows and indicators, answering the alerts it would have fired.
/// </summary>
/// <remarks>
/// It only reads, so it needs no API key (the key guards changes); it still costs a core for as long as it runs,
/// so the hours are capped, one backtest runs at a time (another is refused with 429) and a request that goes away
/// cancels its run. The Host and Origin checks apply as to every POST.
/// </remarks>
internal static class BacktestApi
{
    public const int MinHours = 1;

    /// <summary>A week: what a person trying a rule out looks back over, and a bound on the work one request asks for.</summary>
    public const int MaxHours = 168;

    private const long HourMs = 3_600_000;

    /// <summary>Names the proposed pipeline in the loader's errors, which are then rewritten to name the body's fields.</summary>
    private const string Source = "backtest";

    private static readonly string[] Fields = ["rule", "hours", "symbol"];

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/api/backtest", Run)
            .Accepts<BacktestRequest>("application/json")
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .WithSummary($"Runs one proposed rule (as in the pipeline file's rules list) under the running pipeline's windows and indicators over the last {MinHours}–{MaxHours} hours of stored ticks, and answers the alerts it would have fired; reads only, one at a time.");
    }

    private static async Task<Results<Ok<BacktestResponse>, ValidationProblem, ProblemHttpResult>> Run(
        HttpRequest http, IMarketStore store, WebOptions options, BacktestGate gate, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var (body, bodyProblem) = await JsonBody.ReadAsync(http, JsonBody.MaxBytes, cancellationToken);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        using (body)
        {
            var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
            var request = Read(body!.RootElement, errors);
            var pipeline = request.Rule is { } rule ? Propose(options.Running, rule, errors) : null;
            if (errors.Count > 0 || pipeline is null)
            {
                return TypedResults.ValidationProblem(errors);
            }

            if (!gate.TryEnter())
            {
                http.HttpContext.Response.Headers.RetryAfter = "5";
                return TypedResults.Problem("another backtest is running; one runs at a time, try again when it has finished", statusCode: StatusCodes.Status429TooManyRequests);
            }

            try
            {
                return await RunAsync(store, options, pipeline, request, loggers.CreateLogger(typeof(BacktestApi).FullName!), cancellationToken);
            }
            finally
            {
                gate.Exit();
            }
        }
    }

    private static async Task<Results<Ok<BacktestResponse>, ValidationProblem, ProblemHttpResult>> RunAsync(
        IMarketStore store, WebOptions options, PipelineDefinition pipeline, Request request, ILogger logger, CancellationToken cancellationToken)
    {
        var all = await store.MeasureTicksAsync(new TickQuery(), cancellationToken);
        if (all.Count == 0)
        {
            return TypedResults.Problem("the store has no ticks yet: a backtest needs stored history", statusCode: StatusCodes.Status400BadRequest);
        }

        var span = all;
        if (request.Symbol is { } symbol)
        {
            span = await store.MeasureTicksAsync(new TickQuery(Symbol: symbol), cancellationToken);
            if (span.Count == 0)
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["symbol"] = [$"'{OutsideText.ForDisplay(symbol)}' has no stored ticks"] });
            }
        }

        // The range ends just after the latest stored tick (the end is exclusive), whatever the wall clock says.
        var to = span.LastTs + 1;
        var from = Math.Max(EventTime.MinMs, to - (request.Hours * HourMs));
        BacktestResult result;
        try
        {
            result = await Backtest.RunAsync(
                new BacktestOptions
                {
                    Store = store,
                    StoreName = options.StoreUrl,
                    Pipeline = pipeline,
                    From = from,
                    To = to,
                    Symbols = request.Symbol is { } s ? [s] : null,
                    Keep = true,
                },
                cancellationToken: cancellationToken);
        }
        catch (InvalidDataException e)
        {
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status400BadRequest);
        }

        logger.BacktestRan(request.RuleName, request.Hours, result.Ticks, result.Alerts, (long)result.Elapsed.TotalMilliseconds);

        // The latest alerts when there are more than a page: those nearest the live chart.
        var alerts = result.KeptAlerts.OrderBy(a => a.Ts).ThenBy(a => a.Id, StringComparer.Ordinal).ToList();
        var shown = alerts.Skip(Math.Max(0, alerts.Count - options.MaxLimit)).Select(AlertJson.From).ToList();
        return TypedResults.Ok(new BacktestResponse(
            request.RuleName,
            shown,
            result.Alerts,
            result.Ticks - result.WarmupTicks,
            result.Bars,
            EventTime.ToIso(from),
            EventTime.ToIso(to),
            result.ReadFrom is { } read && read < from ? EventTime.ToIso(read) : null,
            pipeline.Digest(),
            (long)result.Elapsed.TotalMilliseconds));
    }

    /// <summary>
    /// The running definition with the proposed rule as its only rule, validated by the pipeline loader as a file
    /// would be; null with the loader's errors, each under the body field it names (<c>rule.when</c>).
    /// </summary>
    /// <remarks>
    /// The running pipeline's other rules are left out: the answer is the proposed rule's alerts only, and the
    /// engine runs one rule's worth of work. A rule fires on a bar by itself, so what the others do changes nothing.
    /// </remarks>
    private static PipelineDefinition? Propose(PipelineDefinition running, JsonElement rule, Dictionary<string, string[]> errors)
    {
        // ToYaml writes the rules last, as "rules: []" when there are none: the proposed rule goes in its place, as
        // one YAML flow mapping written as JSON (YAML reads JSON's scalars and flow collections as they are).
        const string NoRules = "rules: []";
        var yaml = PipelineLoader.ToYaml(running with { Rules = [] });
        var at = yaml.LastIndexOf(NoRules, StringComparison.Ordinal);
        if (at < 0 || yaml[(at + NoRules.Length)..].Trim().Length > 0)
        {
            throw new InvalidOperationException("PipelineLoader.ToYaml no longer ends with the rules list");
        }

        var text = new StringBuilder(yaml, 0, at, yaml.Length + 256).Append("rules:\n  - ");
        WriteFlow(text, rule);
        text.Append('\n');
        try
        {
            return PipelineLoader.Parse(text.ToString(), Source);
        }
        catch (PipelineConfigException e)
        {
            foreach (var error in e.Errors)
            {
                var (field, message) = FieldOf(error);
                errors[field] = errors.TryGetValue(field, out var more) ? [.. more, message] : [message];
            }

            return null;
        }
    }

    /// <summary>A loader error (<c>backtest: rules[0].when: column 6: …</c>) as the body field it names and the message.</summary>
    private static (string Field, string Message) FieldOf(string error)
    {
        var rest = error.StartsWith(Source + ": ", StringComparison.Ordinal) ? error[(Source.Length + 2)..] : error;
        var colon = rest.IndexOf(": ", StringComparison.Ordinal);
        if (colon < 0)
        {
            return ("rule", rest);
        }

        var path = rest[..colon];
        var message = rest[(colon + 2)..];
        return path.StartsWith("rules[0]", StringComparison.Ordinal)
            ? ("rule" + path["rules[0]".Length..], message)
            : ("rule", $"{path}: {message}"); // about the whole pipeline, such as its history per symbol
    }

    /// <summary>
    /// Writes a JSON value as YAML flow: JSON's own text, with a space after each key's colon (YAML needs one
    /// after a plain key) and strings escaped the JSON way, which YAML's double-quoted strings read the same.
    /// </summary>
    private static void WriteFlow(StringBuilder text, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                text.Append('{');
                var first = true;
                foreach (var property in value.EnumerateObject())
                {
                    text.Append(first ? " " : ", ");
                    first = false;
                    WriteString(text, property.Name);
                    text.Append(": ");
                    WriteFlow(text, property.Value);
                }

                text.Append(" }");
                break;
            case JsonValueKind.Array:
                text.Append('[');
                var i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    text.Append(i++ == 0 ? "" : ", ");
                    WriteFlow(text, item);
                }

                text.Append(']');
                break;
            case JsonValueKind.String:
                WriteString(text, value.GetString()!);
                break;
            default:
                text.Append(value.GetRawText()); // numbers, true, false, null
                break;
        }
    }

    private static void WriteString(StringBuilder text, string value)
    {
        text.Append('"');
        foreach (var c in value)
        {
            _ = c switch
            {
                '\\' or '"' => text.Append('\\').Append(c),
                < ' ' or '\u007f' or (>= '\ud800' and <= '\udfff') => text.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
                _ => text.Append(c),
            };
        }

        text.Append('"');
    }

    /// <summary>The body's fields; unknown, repeated, missing or mistyped fields are errors, and leave their field null (hours 0).</summary>
    private static Request Read(JsonElement root, Dictionary<string, string[]> errors)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            errors["body"] = ["must be a JSON object with rule, hours and optionally symbol"];
            return new Request(null, "", 0, null);
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        JsonElement? rule = null;
        int? hours = null;
        string? symbol = null;
        foreach (var property in root.EnumerateObject())
        {
            var name = property.Name.Length <= 100 ? property.Name : property.Name[..100] + "…";
            var value = property.Value;
            if (!Fields.Contains(property.Name, StringComparer.Ordinal))
            {
                errors[name] = [$"unknown field; the fields are {string.Join(", ", Fields)}"];
            }
            else if (!seen.Add(property.Name))
            {
                errors[name] = ["given more than once"];
            }
            else if (property.Name == "rule")
            {
                if (value.ValueKind == JsonValueKind.Object)
                {
                    rule = value;
                }
                else
                {
                    errors["rule"] = ["must be one rule as the pipeline file's rules list has them, such as {\"name\": \"dip\", \"window\": \"1m\", \"when\": \"rsi14 < 30\"}"];
                }
            }
            else if (property.Name == "hours")
            {
                if (value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var h) && h % 1 == 0 && h is >= MinHours and <= MaxHours)
                {
                    hours = (int)h;
                }
                else
                {
                    errors["hours"] = [$"must be a whole number of hours from {MinHours} to {MaxHours} (got {Shorten(value.GetRawText())})"];
                }
            }
            else if (value.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(value.GetString()))
            {
                symbol = value.GetString();
            }
            else if (value.ValueKind != JsonValueKind.Null)
            {
                errors["symbol"] = ["must be a symbol's name, or null for every stored symbol"];
            }
        }

        if (!seen.Contains("rule"))
        {
            errors["rule"] = ["is required: one rule as the pipeline file's rules list has them"];
        }

        if (!seen.Contains("hours"))
        {
            errors["hours"] = [$"is required: a whole number of hours from {MinHours} to {MaxHours}"];
        }

        var ruleName = rule is { } r && r.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "";
        return new Request(rule, ruleName, hours ?? 0, symbol);
    }

    private static string Shorten(string text) => OutsideText.ForDisplay(text.Length <= 40 ? text : text[..40] + "…");

    private sealed record Request(JsonElement? Rule, string RuleName, int Hours, string? Symbol);
}

/// <summary>Lets one backtest run at a time on this server.</summary>
internal sealed class BacktestGate : IDisposable
{
    private readonly SemaphoreSlim _one = new(1, 1);

    public bool TryEnter() => _one.Wait(0);

    public void Exit() => _one.Release();

    public void Dispose() => _one.Dispose();
}

/// <summary>The body of <c>POST /api/backtest</c>.</summary>
/// <param name="Rule">One rule as the pipeline file's rules list has them: <c>{"name": "dip", "window": "1m", "when": "rsi14 &lt; 30", "for": 2}</c>.</param>
/// <param name="Hours">How far back from the latest stored tick to run, from 1 to 168.</param>
/// <param name="Symbol">Only this symbol; null: every stored one.</param>
public sealed record BacktestRequest(JsonElement Rule, int Hours, string? Symbol);

/// <summary>What <c>POST /api/backtest</c> answers.</summary>
/// <param name="Alerts">The alerts the rule would have fired, ascending by ts, as <c>/api/alerts</c> gives them; the latest page when there are more.</param>
/// <param name="AlertCount">Every alert it would have fired, also those past the page.</param>
/// <param name="Ticks">Ticks read in the range (the warm-up's left out).</param>
/// <param name="Bars">Bars whose window starts in the range.</param>
/// <param name="From">The range's start: the latest stored tick less the hours.</param>
/// <param name="To">The range's end, exclusive: just after the latest stored tick.</param>
/// <param name="WarmupFrom">Where reading started, before <paramref name="From"/>, to warm indicators and rules up; null when nothing needed it.</param>
/// <param name="Pipeline">The digest of the pipeline run: the running one with the proposed rule as its only rule.</param>
/// <param name="ElapsedMs">How long the run took.</param>
public sealed record BacktestResponse(
    string Rule,
    IReadOnlyList<AlertJson> Alerts,
    long AlertCount,
    long Ticks,
    long Bars,
    string From,
    string To,
    string? WarmupFrom,
    string Pipeline,
    long ElapsedMs);
