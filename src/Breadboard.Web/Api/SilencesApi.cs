using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Notify.Policy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Breadboard.Web.Api;

/// <summary>Notification silences: list them; create and expire them with the API key.</summary>
internal static class SilencesApi
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var silences = app.MapGroup("/api/silences");
        silences.MapGet("/", List).WithSummary("Active and pending silences; with all=true also the ended ones still kept.");
        silences.MapPost("/", Create).AddEndpointFilter<ApiKeyFilter>().WithSummary("Creates a silence (needs X-Api-Key): matchers rule, symbol (prefix with a trailing *), channel; ends_at or duration.");
        silences.MapDelete("/{id}", Expire).AddEndpointFilter<ApiKeyFilter>().WithSummary("Ends a silence now (needs X-Api-Key).");
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

    private static async Task<Results<Created<SilenceView>, ValidationProblem, ProblemHttpResult>> Create(SilenceRequest request, WebOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        if (options.Silences is not { } store)
        {
            return NotConfigured();
        }

        var now = time.GetUtcNow();
        if (!TryTimes(request, now, out var startsAt, out var endsAt, out var field, out var problem))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [problem] });
        }

        if (!Silence.TryCreate(request.Rule, request.Symbol, request.Channel, startsAt, endsAt, request.CreatedBy, request.Comment, out var silence, out var error))
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

    /// <summary>Starts now unless given; ends at <c>ends_at</c>, or after <c>duration</c> (like 2h).</summary>
    private static bool TryTimes(SilenceRequest request, DateTimeOffset now, out DateTimeOffset startsAt, out DateTimeOffset endsAt, out string field, out string problem)
    {
        startsAt = now;
        endsAt = default;
        field = "";
        problem = "";
        if (request.StartsAt is { } starts)
        {
            if (!EventTime.TryParse(starts, out var ms))
            {
                (field, problem) = ("starts_at", $"'{starts}' is not an ISO-8601 time, a date or epoch milliseconds");
                return false;
            }

            startsAt = EventTime.ToDateTimeOffset(ms);
        }

        if ((request.EndsAt is null) == (request.Duration is null))
        {
            (field, problem) = ("ends_at", "give exactly one of ends_at and duration");
            return false;
        }

        if (request.EndsAt is { } endText)
        {
            if (!EventTime.TryParse(endText, out var ms))
            {
                (field, problem) = ("ends_at", $"'{endText}' is not an ISO-8601 time, a date or epoch milliseconds");
                return false;
            }

            endsAt = EventTime.ToDateTimeOffset(ms);
            return true;
        }

        if (!DurationText.TryParse(request.Duration, out var durationMs) || durationMs <= 0)
        {
            (field, problem) = ("duration", $"'{request.Duration}' is not a duration like 30m, 2h or 1d");
            return false;
        }

        endsAt = startsAt.AddMilliseconds(durationMs);
        return true;
    }

    private static ProblemHttpResult NotConfigured() =>
        TypedResults.Problem("this server has no silence store", statusCode: StatusCodes.Status404NotFound);
}

/// <summary>The body of <c>POST /api/silences</c>.</summary>
public sealed record SilenceRequest(string? Rule, string? Symbol, string? Channel, string? StartsAt, string? EndsAt, string? Duration, string? CreatedBy, string? Comment);

/// <summary>A silence as the API shows it.</summary>
public sealed record SilenceView(string Id, string? Rule, string? Symbol, string? Channel, string StartsAt, string EndsAt, string CreatedBy, string Comment)
{
    public static SilenceView From(Silence s) =>
        new(s.Id, s.Rule, s.Symbol, s.Channel, EventTime.ToIso(s.StartsAt.ToUnixTimeMilliseconds()), EventTime.ToIso(s.EndsAt.ToUnixTimeMilliseconds()), s.CreatedBy, s.Comment);
}
