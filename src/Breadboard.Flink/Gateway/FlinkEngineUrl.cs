using Breadboard.Core.Seams;

namespace Breadboard.Flink.Gateway;

/// <summary>The engine setting <c>flink+http://host[:port]</c> (or <c>flink+https://</c>) as the SQL Gateway's base address.</summary>
public static class FlinkEngineUrl
{
    /// <summary>The SQL Gateway REST endpoint's default port (<c>sql-gateway.endpoint.rest.port</c>).</summary>
    public const int DefaultPort = 8083;

    /// <summary>The gateway's base address, ending in <c>/</c> so a path prefix (a gateway behind a proxy) is kept.</summary>
    /// <exception cref="ArgumentException">The value is not a <c>flink+http(s)://</c> URL, or it holds a user, query or
    /// fragment; the message is one line and quotes the value redacted.</exception>
    public static Uri Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var at = value.IndexOf("://", StringComparison.Ordinal);
        var scheme = at < 0 ? "" : value[..at].ToLowerInvariant();
        if (scheme is not ("flink+http" or "flink+https"))
        {
            throw new ArgumentException($"'{SecretText.Redact(value)}' is not a Flink SQL Gateway: use flink+http://host[:port] or flink+https://host[:port] (default port {DefaultPort})", nameof(value));
        }

        var http = scheme["flink+".Length..];
        if (!Uri.TryCreate(http + value[at..], UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException($"'{SecretText.Redact(value)}': not a URL with a host, like flink+http://flink-sql-gateway:{DefaultPort}", nameof(value));
        }

        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            throw new ArgumentException($"'{SecretText.Redact(value)}': the gateway address takes no user, query or fragment", nameof(value));
        }

        // Uri fills in 80/443 when the text names no port; the gateway's own default is 8083.
        var authority = value[(at + 3)..].Split('/')[0];
        var hasPort = authority.StartsWith('[') ? authority.Contains("]:", StringComparison.Ordinal) : authority.Contains(':', StringComparison.Ordinal);
        var builder = new UriBuilder(uri.Scheme, uri.Host, hasPort ? uri.Port : DefaultPort, uri.AbsolutePath.TrimEnd('/') + "/");
        return builder.Uri;
    }
}
