using System.Net.Http.Headers;
using System.Text;
using Breadboard.Core.Seams;

namespace Breadboard.Notify.Channels;

/// <summary>What the HTTP channels share: one POST with a deadline, and failures turned into one-line <see cref="NotificationException"/>s.</summary>
internal static class Delivery
{
    private const int SnippetBytes = 300;

    /// <summary>A client for a channel built without one; connections are recycled so a DNS change is picked up.</summary>
    public static HttpClient NewClient() =>
        new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>POSTs a JSON body; returns on a 2xx answer.</summary>
    /// <remarks>
    /// Messages name the URL's host and port only: a Slack webhook URL's path is its secret, and so may a webhook's
    /// query be. What the receiver answers is shown through <see cref="OutsideText.ForDisplay"/>.
    /// The deadline is applied here rather than through <see cref="HttpClient.Timeout"/>, so it holds for a shared client too.
    /// </remarks>
    public static async Task PostJsonAsync(
        HttpClient http, string channel, Uri url, byte[] body, TimeSpan timeout, Action<HttpRequestHeaders>? headers, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        headers?.Invoke(request.Headers);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            if (response.IsSuccessStatusCode)
            {
                return;
            }

            var snippet = await SnippetAsync(response, deadline.Token);
            throw new NotificationException(
                $"{channel}: {url.Authority} answered {(int)response.StatusCode} {OneLine(response.ReasonPhrase ?? "")}{(snippet.Length > 0 ? ": " + snippet : "")}");
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new NotificationException($"{channel}: {url.Authority} did not answer within {timeout.TotalSeconds:0.#} s", e);
        }
        catch (HttpRequestException e)
        {
            throw new NotificationException($"{channel}: cannot reach {url.Authority}: {OneLine(e.Message)}", e);
        }
    }

    /// <summary>Outside text (a receiver's body, a server's reply) as a single line of at most 200 characters, without control characters.</summary>
    public static string OneLine(string text) => OutsideText.ForDisplay(text, 200);

    /// <summary>The start of an error body (Slack says why there, e.g. <c>invalid_blocks</c>), read no further than needed.</summary>
    private static async Task<string> SnippetAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = new byte[SnippetBytes];
            var read = 0;
            int n;
            while (read < buffer.Length && (n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken)) > 0)
            {
                read += n;
            }

            return OneLine(Encoding.UTF8.GetString(buffer, 0, read));
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            // The status already says it failed; a body that cannot be read adds nothing.
            return "";
        }
    }
}
