using System.Globalization;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;

namespace Breadboard.Nats;

/// <summary>
/// The NATS alert bus as configured by
/// <c>--alerts nats://host:4222[,host:port…][?max_age=7d&amp;max_msgs=1000000&amp;duplicate_window=2m&amp;replicas=1&amp;buffer=100000]</c>.
/// </summary>
/// <remarks>Credentials never go in the URL (it is logged and shown in errors): they come from
/// <c>BREADBOARD_NATS_USER</c> / <c>BREADBOARD_NATS_PASSWORD</c> or <c>BREADBOARD_NATS_TOKEN</c>.</remarks>
public sealed record NatsAlertOptions
{
    public const string Scheme = "nats://";

    /// <summary>The stream of every alert, subjects <c>alerts.&lt;rule&gt;</c>.</summary>
    public const string StreamName = "ALERTS";

    /// <summary>The stream of notifications a channel gave up on, subjects <c>alerts.dead.&lt;channel&gt;</c>.</summary>
    public const string DeadStreamName = "ALERTS_DEAD";

    /// <summary>One token after <c>alerts.</c>: every rule, and never a dead letter (those have two).</summary>
    public const string AlertSubjects = "alerts.*";

    public const string DeadSubjects = "alerts.dead.>";

    /// <summary>Comma-separated nats:// server URLs.</summary>
    public required string Servers { get; init; }

    /// <summary>How long the stream keeps alerts (replay reaches back this far).</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Most alerts the stream keeps; the oldest go first.</summary>
    public long MaxMessages { get; init; } = 1_000_000;

    /// <summary>How long the server remembers a message id: a re-publish within it is dropped as a duplicate.</summary>
    public TimeSpan DuplicateWindow { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Stream replicas (3 on the seed's cluster, 1 on one server).</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>Alerts that may wait for NATS while it is unreachable; when full, publishing waits (never drops).</summary>
    public int BufferCapacity { get; init; } = 100_000;

    /// <summary>Reads a nats:// URL; on failure <paramref name="error"/> says what is wrong in one line.</summary>
    public static bool TryParse(string url, out NatsAlertOptions? options, out string error)
    {
        ArgumentNullException.ThrowIfNull(url);
        options = null;
        if (url.Contains('@', StringComparison.Ordinal))
        {
            error = $"credentials do not belong in the URL; set {AlertStreams.UserVariable}/{AlertStreams.PasswordVariable} or {AlertStreams.TokenVariable}";
            return false;
        }

        if (!ServerListUrl.TryParse(url, Scheme, "server", out var servers, out var pairs, out error))
        {
            return false;
        }

        var result = new NatsAlertOptions { Servers = string.Join(',', servers.Select(s => Scheme + s)) };
        foreach (var (key, value) in pairs)
        {
            switch (key)
            {
                case "max_age" when DurationText.TryParse(value, out var ms) && ms > 0:
                    result = result with { MaxAge = TimeSpan.FromMilliseconds(ms) };
                    break;
                case "max_msgs" when long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var m) && m >= 1:
                    result = result with { MaxMessages = m };
                    break;
                case "duplicate_window" when DurationText.TryParse(value, out var ms) && ms > 0:
                    result = result with { DuplicateWindow = TimeSpan.FromMilliseconds(ms) };
                    break;
                case "replicas" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var r) && r is >= 1 and <= 5:
                    result = result with { Replicas = r };
                    break;
                case "buffer" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var b) && b >= 1:
                    result = result with { BufferCapacity = b };
                    break;
                default:
                    error = $"bad option '{key}={(SecretText.IsSecretKey(key) ? SecretText.Mask : value)}'; allowed: max_age=DURATION (like 7d), max_msgs=N, duplicate_window=DURATION (like 2m), replicas=1..5, buffer=N";
                    return false;
            }
        }

        if (result.DuplicateWindow > result.MaxAge)
        {
            error = "duplicate_window must not be longer than max_age";
            return false;
        }

        options = result;
        return true;
    }

    /// <summary>The subject of an alert: <c>alerts.&lt;rule&gt;</c>, the rule made a single subject token.</summary>
    public static string SubjectOf(string rule) => "alerts." + Token(rule);

    /// <summary>Where a channel's dead letters go.</summary>
    public static string DeadSubjectOf(string channel) => "alerts.dead." + Token(channel);

    private static string Token(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return string.Create(name.Length, name, static (span, text) =>
        {
            for (var i = 0; i < text.Length; i++)
            {
                var c = text[i];
                span[i] = c is '.' or '*' or '>' || char.IsWhiteSpace(c) ? '_' : c;
            }
        });
    }
}
