using System.Globalization;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;

namespace Breadboard.ClickHouse;

/// <summary>
/// A store URL, <c>clickhouse://host:port[,host:port…]/database[?user=NAME&amp;cluster=NAME&amp;secure=true&amp;retry_for=DURATION]</c>,
/// read into its parts. Several servers are replicas of one shard: requests go to one and move on to the next when
/// it fails. Passwords never go in it: they come from <c>BREADBOARD_CLICKHOUSE_PASSWORD</c>.
/// </summary>
/// <param name="BaseUrl">The (first) server's HTTP interface (<c>https</c> with <c>secure=true</c>).</param>
/// <param name="Database">The database, a plain identifier.</param>
/// <param name="User">The user, or null for the server's default.</param>
/// <param name="Cluster">The cluster of the replicated layout, or null for one server.</param>
/// <param name="RetryFor">How long a write keeps retrying while the server is unreachable; null retries until stopped.</param>
public sealed record ClickHouseUrl(Uri BaseUrl, string Database, string? User, string? Cluster, TimeSpan? RetryFor)
{
    public const string Scheme = "clickhouse://";

    /// <summary>Every server the URL names, <see cref="BaseUrl"/> first.</summary>
    public IReadOnlyList<Uri> Replicas { get; init; } = [BaseUrl];

    /// <summary>The environment variable the password comes from.</summary>
    public const string PasswordVariable = "BREADBOARD_CLICKHOUSE_PASSWORD";

    private const string Expected = "expected clickhouse://host:port[,host:port…]/database[?user=NAME&cluster=NAME&secure=true&retry_for=DURATION]";

    /// <summary>Reads a store URL; on failure <paramref name="error"/> is a one-line reason.</summary>
    public static bool TryParse(string url, out ClickHouseUrl? parsed, out string error)
    {
        ArgumentNullException.ThrowIfNull(url);
        (parsed, error) = (null, "");
        if (!url.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || url.Contains('@', StringComparison.Ordinal))
        {
            error = url.Contains('@', StringComparison.Ordinal) ? $"credentials do not belong in the URL; set user=NAME and {PasswordVariable}" : Expected;
            return false;
        }

        var rest = url[Scheme.Length..];
        var query = "";
        var q = rest.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            (rest, query) = (rest[..q], rest[(q + 1)..]);
        }

        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var hostPorts = (slash < 0 ? rest : rest[..slash]).Split(',');
        var database = slash < 0 ? "" : rest[(slash + 1)..].TrimEnd('/');
        foreach (var hostPort in hostPorts)
        {
            var colon = hostPort.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(hostPort[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                error = $"'{hostPort}' is not host:port; {Expected}";
                return false;
            }
        }

        if (hostPorts.Distinct(StringComparer.OrdinalIgnoreCase).Count() < hostPorts.Length)
        {
            error = $"names a server twice ({string.Join(",", hostPorts)})";
            return false;
        }

        if (database.Length == 0)
        {
            error = $"names no database; {Expected}";
            return false;
        }

        if (!IsIdentifier(database, "database", out error))
        {
            return false;
        }

        string? user = null, cluster = null;
        TimeSpan? retryFor = null;
        var secure = false;
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var (key, value) = eq < 0 ? (pair, "") : (pair[..eq], Uri.UnescapeDataString(pair[(eq + 1)..]));
            switch (key)
            {
                case "user" when value.Length > 0:
                    user = value;
                    break;
                case "cluster" when value.Length > 0:
                    if (!IsIdentifier(value, "cluster", out error))
                    {
                        return false;
                    }

                    cluster = value;
                    break;
                case "secure" when bool.TryParse(value, out var s):
                    secure = s;
                    break;
                case "retry_for" when DurationText.TryParse(value, out var ms) && ms > 0:
                    retryFor = TimeSpan.FromMilliseconds(ms);
                    break;
                default:
                    error = $"bad option '{(SecretText.IsSecretKey(key) ? $"{key}={SecretText.Mask}" : pair)}'; allowed: user=NAME, cluster=NAME, secure=true|false, retry_for=DURATION (30s, 10m)";
                    return false;
            }
        }

        Uri[] replicas = [.. hostPorts.Select(hostPort => new Uri($"{(secure ? "https" : "http")}://{hostPort}/"))];
        parsed = new ClickHouseUrl(replicas[0], database, user, cluster, retryFor) { Replicas = replicas };
        return true;
    }

    private static bool IsIdentifier(string value, string what, out string error)
    {
        try
        {
            ClickHouseSchema.Quote(value);
            error = "";
            return true;
        }
        catch (ArgumentException e)
        {
            error = $"{what} {e.Message}";
            return false;
        }
    }
}
