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

        if (string.IsNullOrEmpty(options.ApiKey))
        {
            await TypedResults.Problem($"mutating endpoints are disabled: set {WebOptions.ApiKeyVariable} to enable them", statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(context);
            return;
        }

        var given = context.Request.Headers[Header].ToString();
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(options.ApiKey)))
        {
            await TypedResults.Problem($"missing or wrong {Header} header", statusCode: StatusCodes.Status401Unauthorized).ExecuteAsync(context);
            return;
        }

        await next(context);
    }

    private sealed class Required
    {
        public static readonly Required Instance = new();
    }
}
