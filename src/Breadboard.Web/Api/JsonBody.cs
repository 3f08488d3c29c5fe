using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Breadboard.Web.Api;

/// <summary>Reads a request's JSON body with a size cap, for endpoints that check the body themselves.</summary>
internal static class JsonBody
{
    /// <summary>Largest body a mutating endpoint reads.</summary>
    public const int MaxBytes = 64 * 1024;

    /// <summary>The parsed body, or the problem to answer: 415 not JSON by type, 413 over the cap, 400 not JSON.</summary>
    public static async Task<(JsonDocument? Document, ProblemHttpResult? Problem)> ReadAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
        {
            return (null, TypedResults.Problem("send the body as application/json", statusCode: StatusCodes.Status415UnsupportedMediaType));
        }

        if (request.ContentLength > maxBytes)
        {
            return (null, TooLarge(maxBytes));
        }

        // Reads one byte past the cap and no further; Kestrel then discards the rest of the body (within its own
        // overall limit) before the next request, so the client gets the 413 rather than a reset connection.
        var buffer = new byte[maxBytes + 1];
        var length = 0;
        try
        {
            int read;
            while (length < buffer.Length && (read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
            {
                length += read;
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(maxBytes)); // past the server's overall limit
        }

        if (length > maxBytes)
        {
            return (null, TooLarge(maxBytes));
        }

        try
        {
            return (JsonDocument.Parse(buffer.AsMemory(0, length), new JsonDocumentOptions { MaxDepth = 16 }), null);
        }
        catch (JsonException e)
        {
            return (null, TypedResults.Problem(new HttpValidationProblemDetails(new Dictionary<string, string[]> { ["body"] = [$"not JSON: {e.Message.Split(". ")[0]}"] })
            {
                Status = StatusCodes.Status400BadRequest,
            }));
        }
    }

    private static ProblemHttpResult TooLarge(int maxBytes) =>
        TypedResults.Problem($"the body is larger than {maxBytes / 1024} KiB", statusCode: StatusCodes.Status413PayloadTooLarge);
}
