using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Breadboard.Web;

/// <summary>
/// The outermost handler of a request that throws: logs it once with the request id, and answers a generic 500
/// problem carrying that id (never the exception's message, which can name hosts and users of a backend).
/// </summary>
/// <remarks>
/// A streamed answer (the store's rows as a JSON array) can fail after its headers and part of its body went out.
/// Then no 500 can be sent, and ending the response normally would hand the client a truncated array that parses as
/// complete; so the connection is aborted instead, which the client sees as an incomplete response.
/// </remarks>
internal sealed class RequestFailures(RequestDelegate next, ILogger<RequestFailures> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception e) when (IsClientGone(context, e))
        {
            // The client went away mid-request: nothing failed on our side.
        }
        catch (Exception e)
        {
            var request = context.Request;
            if (context.Response.HasStarted)
            {
                logger.RequestAborted(e, context.TraceIdentifier, request.Method, request.Path);
                context.Abort();
                return;
            }

            logger.RequestFailed(e, context.TraceIdentifier, request.Method, request.Path);
            context.Response.Clear(); // headers set on start (request id, security) are added again then
            await TypedResults.Problem(
                detail: $"the server failed to answer this request; its log has the cause under request id {context.TraceIdentifier}",
                statusCode: StatusCodes.Status500InternalServerError).ExecuteAsync(context);
        }
    }

    private static bool IsClientGone(HttpContext context, Exception e) =>
        context.RequestAborted.IsCancellationRequested && e is OperationCanceledException or IOException or ConnectionResetException;
}
