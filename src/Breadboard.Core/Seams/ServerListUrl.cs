using System.Globalization;

namespace Breadboard.Core.Seams;

/// <summary>The seam settings that name servers: <c>scheme://host:port[,host:port…][?key=value&amp;…]</c> (Kafka, NATS).</summary>
public static class ServerListUrl
{
    /// <summary>
    /// Splits a URL into its host:port list and its options, in order; on failure <paramref name="error"/> says
    /// what is wrong in one line, calling the servers <paramref name="noun"/> (broker, server).
    /// </summary>
    /// <remarks>A user and password in the URL are refused; the error never quotes them.</remarks>
    public static bool TryParse(string url, string scheme, string noun, out string[] servers, out List<KeyValuePair<string, string>> options, out string error)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(scheme);
        servers = [];
        options = [];
        error = "";
        var expected = $"expected {scheme}host:port[,host:port…]";
        if (!url.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            error = expected;
            return false;
        }

        var rest = url[scheme.Length..];
        var query = "";
        var q = rest.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }

        servers = rest.TrimEnd('/').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (servers.Length == 0)
        {
            error = $"names no {noun}; {expected}";
            return false;
        }

        foreach (var server in servers)
        {
            // A host never holds '@': what comes before it is a user and password, and these URLs are shown in messages.
            if (server.Contains('@', StringComparison.Ordinal))
            {
                error = "credentials do not belong in the URL";
                return false;
            }

            var colon = server.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(server[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                error = $"'{SecretText.Redact(server)}' is not host:port";
                return false;
            }
        }

        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            options.Add(eq < 0 ? new(pair, "") : new(pair[..eq], pair[(eq + 1)..]));
        }

        return true;
    }
}
