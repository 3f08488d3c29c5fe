using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Breadboard.Web;

/// <summary>
/// Guards mutating endpoints: the request must carry the configured key in <c>X-Api-Key</c>. With no key
/// configured (BREADBOARD_API_KEY unset) mutating endpoints are disabled, not open.
/// </summary>
public sealed class ApiKeyFilter(WebOptions options) : IEndpointFilter
{
    public const string Header = "X-Api-Key";

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        if (string.IsNullOrEmpty(options.ApiKey))
        {
            return TypedResults.Problem($"mutating endpoints are disabled: set {WebOptions.ApiKeyVariable} to enable them", statusCode: StatusCodes.Status403Forbidden);
        }

        var given = context.HttpContext.Request.Headers[Header].ToString();
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(options.ApiKey)))
        {
            return TypedResults.Problem($"missing or wrong {Header} header", statusCode: StatusCodes.Status401Unauthorized);
        }

        return await next(context);
    }
}
