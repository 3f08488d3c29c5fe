using System.Text.Json;
using Breadboard.Core.Model;
using Breadboard.Notify.Policy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Breadboard.Web.Api;

/// <summary>Notification silences: list them; create and expire them with the API key.</summary>
internal static class SilencesApi
{
    /// <summary>Longest <c>starts_at</c>, <c>ends_at</c> or <c>duration</c> text.</summary>
    public const int MaxTimeLength = 64;

    private static readonly string[] Fields = ["rule", "symbol", "channel", "starts_at", "ends_at", "duration", "created_by", "comment"];

    public static void Map(IEndpointRouteBuilder app)
    {
        var silences = app.MapGroup("/api/silences");
        silences.MapGet("/", List).WithSummary("Active and pending silences; with all=true also the ended ones still kept.");
        silences.MapPost("/", Create)
            .RequireApiKey()
            .Accepts<SilenceRequest>("application/json")
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .WithSummary("Creates a silence (needs X-Api-Key): matchers rule, symbol (prefix with a trailing *), channel; ends_at or duration (at most 366d); body at most 64 KiB.");
        silences.MapDelete("/{id}", Expire).RequireApiKey().WithSummary("Ends a silence now (needs X-Api-Key).");
    }

    private static async Task<Results<Ok<SilenceView[]>, ProblemHttpResult>> List(bool? all, WebOptions options, CancellationToken cancellationToken)
    {
        if (options.Silences is not { } store)
        {
            return NotConfigured();
        }

        var list = await store.ListAsync(all == true, cancellationToken);
        return TypedResults.Ok(list.Select(SilenceView.From).ToArray());
    }

    private static async Task<Results<Created<SilenceView>, ValidationProblem, ProblemHttpResult>> Create(HttpRequest http, WebOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        if (options.Silences is not { } store)
        {
            return NotConfigured();
        }

        var (body, bodyProblem) = await JsonBody.ReadAsync(http, JsonBody.MaxBytes, cancellationToken);
        if (bodyProblem is not null)
        {
            return bodyProblem;
        }

        using (body)
        {
            var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
            var request = Read(body!.RootElement, errors);
            if (request is null)
            {
                return TypedResults.ValidationProblem(errors);
            }

            var (startsAt, endsAt) = Times(request, time.GetUtcNow(), errors);
            foreach (var (field, problem) in Silence.Check(request.Rule, request.Symbol, request.Channel, startsAt, endsAt, request.CreatedBy, request.Comment))
            {
                errors.TryAdd(field, [problem]);
            }

            if (errors.Count > 0)
            {
                return TypedResults.ValidationProblem(errors);
            }

            if (!Silence.TryCreate(request.Rule, request.Symbol, request.Channel, startsAt!.Value, endsAt!.Value, request.CreatedBy, request.Comment, out var silence, out var error))
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["silence"] = [error] });
            }

            try
            {
                var created = await store.CreateAsync(silence, cancellationToken);
                return TypedResults.Created($"/api/silences/{created.Id}", SilenceView.From(created));
            }
            catch (ArgumentException e)
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["silence"] = [e.Message] });
            }
        }
    }

    private static async Task<Results<Ok<SilenceView>, ProblemHttpResult>> Expire(string id, WebOptions options, CancellationToken cancellationToken)
    {
        if (options.Silences is not { } store)
        {
            return NotConfigured();
        }

        if (!await store.ExpireAsync(id, cancellationToken))
        {
            return TypedResults.Problem($"no silence {id}", statusCode: StatusCodes.Status404NotFound);
        }

        var ended = (await store.ListAsync(includeExpired: true, cancellationToken)).First(s => s.Id == id);
        return TypedResults.Ok(SilenceView.From(ended));
    }

    /// <summary>The body's fields, each a string or null; unknown, repeated or mistyped fields are errors. Null when the body is not an object.</summary>
    private static SilenceRequest? Read(JsonElement root, Dictionary<string, string[]> errors)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            errors["body"] = ["must be a JSON object"];
            return null;
        }

        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            var name = property.Name.Length <= 100 ? property.Name : property.Name[..100] + "…";
            if (!Fields.Contains(property.Name, StringComparer.Ordinal))
            {
                errors[name] = [$"unknown field; the fields are {string.Join(", ", Fields)}"];
            }
            else if (values.ContainsKey(property.Name))
            {
                errors[name] = ["given more than once"];
            }
            else if (property.Value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                errors[name] = [$"must be a string or null, not {property.Value.ValueKind.ToString().ToLowerInvariant()}"];
                values[property.Name] = null;
            }
            else
            {
                values[property.Name] = property.Value.GetString();
            }
        }

        return new SilenceRequest(
            values.GetValueOrDefault("rule"),
            values.GetValueOrDefault("symbol"),
            values.GetValueOrDefault("channel"),
            values.GetValueOrDefault("starts_at"),
            values.GetValueOrDefault("ends_at"),
            values.GetValueOrDefault("duration"),
            values.GetValueOrDefault("created_by"),
            values.GetValueOrDefault("comment"));
    }

    /// <summary>Starts now unless given; ends at <c>ends_at</c>, or after <c>duration</c> (like 2h). Null where a time is missing or bad, with its error.</summary>
    private static (DateTimeOffset? StartsAt, DateTimeOffset? EndsAt) Times(SilenceRequest request, DateTimeOffset now, Dictionary<string, string[]> errors)
    {
        DateTimeOffset? startsAt = now;
        if (request.StartsAt is { } starts)
        {
            startsAt = Time("starts_at", starts, errors);
        }

        if ((request.EndsAt is null) == (request.Duration is null))
        {
            errors["ends_at"] = ["give exactly one of ends_at and duration"];
            return (startsAt, null);
        }

        if (request.EndsAt is { } endText)
        {
            return (startsAt, Time("ends_at", endText, errors));
        }

        if (request.Duration!.Length > MaxTimeLength)
        {
            errors["duration"] = [$"duration is {request.Duration.Length} characters long; at most {MaxTimeLength}"];
            return (startsAt, null);
        }

        if (startsAt is not { } start)
        {
            return (null, null);
        }

        if (!Silence.TryEnd(start, request.Duration, out var endsAt, out var problem))
        {
            errors["duration"] = [problem];
            return (startsAt, null);
        }

        return (startsAt, endsAt);
    }

    private static DateTimeOffset? Time(string field, string text, Dictionary<string, string[]> errors)
    {
        if (text.Length > MaxTimeLength)
        {
            errors[field] = [$"{field} is {text.Length} characters long; at most {MaxTimeLength}"];
            return null;
        }

        if (!EventTime.TryParse(text, out var ms))
        {
            errors[field] = [$"'{text}' is not an ISO-8601 time from 1970 to 9999, a date or epoch milliseconds"];
            return null;
        }

        return EventTime.ToDateTimeOffset(ms);
    }

    private static ProblemHttpResult NotConfigured() =>
        TypedResults.Problem("this server has no silence store", statusCode: StatusCodes.Status404NotFound);
}

/// <summary>The body of <c>POST /api/silences</c>: every field a string or null, no other fields.</summary>
public sealed record SilenceRequest(string? Rule, string? Symbol, string? Channel, string? StartsAt, string? EndsAt, string? Duration, string? CreatedBy, string? Comment);

/// <summary>A silence as the API shows it.</summary>
public sealed record SilenceView(string Id, string? Rule, string? Symbol, string? Channel, string StartsAt, string EndsAt, string CreatedBy, string Comment)
{
    public static SilenceView From(Silence s) =>
        new(s.Id, s.Rule, s.Symbol, s.Channel, EventTime.ToIso(s.StartsAt.ToUnixTimeMilliseconds()), EventTime.ToIso(s.EndsAt.ToUnixTimeMilliseconds()), s.CreatedBy, s.Comment);
}
