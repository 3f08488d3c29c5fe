using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Breadboard.Web;

/// <summary>
/// Guards mutating endpoints: the request must carry the configured key in <c>X-Api-Key</c>. With no key
/// configured (<see cref="WebOptions.ApiKeyVariable"/> unset) mutating endpoints are disabled, not open.
/// </summary>
/// <remarks>
/// A middleware after routing rather than an endpoint filter: filters run after the body is bound, and a request
/// without the key must be refused before its body is read.
/// </remarks>
public static class ApiKey
{
    public const string Header = "X-Api-Key";

    /// <summary>Marks an endpoint as needing the key.</summary>
    public static TBuilder RequireApiKey<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.WithMetadata(Required.Instance);
    }

    internal static async Task CheckAsync(HttpContext context, RequestDelegate next, WebOptions options)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<Required>() is null)
        {
            await next(context);
            return;
        }

        if (Refusal(context.Request, options.ApiKey) is { } refusal)
        {
            await refusal.ExecuteAsync(context);
            return;
        }

        await next(context);
    }

    /// <summary>Why a request may not mutate (no key configured: 403; a missing or wrong key: 401); null when it may.</summary>
    public static IResult? Refusal(HttpRequest request, string? key)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrEmpty(key))
        {
            return TypedResults.Problem($"mutating endpoints are disabled: set {WebOptions.ApiKeyVariable} to enable them", statusCode: StatusCodes.Status403Forbidden);
        }

        var given = request.Headers[Header].ToString();
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(key))
            ? null
            : TypedResults.Problem($"missing or wrong {Header} header", statusCode: StatusCodes.Status401Unauthorized);
    }

    private sealed class Required
    {
        public static readonly Required Instance = new();
    }
}
