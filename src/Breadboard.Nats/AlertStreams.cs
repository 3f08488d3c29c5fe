using System.Globalization;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;

namespace Breadboard.Nats;

/// <summary>Connects to NATS and makes sure the ALERTS and ALERTS_DEAD streams exist with the configured limits.</summary>
public static class AlertStreams
{
    public const string UserVariable = "BREADBOARD_NATS_USER";
    public const string PasswordVariable = "BREADBOARD_NATS_PASSWORD";
    public const string TokenVariable = "BREADBOARD_NATS_TOKEN";

    /// <summary>A connection named after the role, with credentials from the environment (never from the URL).</summary>
    public static NatsConnection Connect(NatsAlertOptions options, string role)
    {
        ArgumentNullException.ThrowIfNull(options);
        var user = Environment.GetEnvironmentVariable(UserVariable);
        var token = Environment.GetEnvironmentVariable(TokenVariable);
        return new NatsConnection(NatsOpts.Default with
        {
            Url = options.Servers,
            Name = $"breadboard-{role}",
            AuthOpts = NatsAuthOpts.Default with
            {
                Username = string.IsNullOrEmpty(user) ? null : user,
                Password = Environment.GetEnvironmentVariable(PasswordVariable),
                Token = string.IsNullOrEmpty(token) ? null : token,
            },
            // Keep reconnecting for as long as the process runs: alerts wait in the bus's buffer meanwhile.
            MaxReconnectRetry = -1,
            ReconnectWaitMin = TimeSpan.FromMilliseconds(200),
            ReconnectWaitMax = TimeSpan.FromSeconds(5),
        });
    }

    // How long setting up may keep timing out before it is an error: a server restarting, or this process frozen.
    private static readonly TimeSpan SetupPatience = TimeSpan.FromSeconds(30);

    /// <summary>Creates or updates both streams; an unreachable server or a refused configuration throws <see cref="NatsSetupException"/>.</summary>
    public static async Task<INatsJSContext> EnsureAsync(NatsConnection connection, NatsAlertOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        var js = connection.CreateJetStreamContext();
        var started = System.Diagnostics.Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                await connection.ConnectAsync();
                foreach (var config in Configs(options))
                {
                    await js.CreateOrUpdateStreamAsync(config, timeout.Token);
                }

                return js;
            }
            catch (Exception e) when (TimedOut(e) && !cancellationToken.IsCancellationRequested && started.Elapsed < SetupPatience)
            {
                // A server that took the connection but did not answer in time (busy, or restarting), or this
                // process frozen meanwhile (a stopped container, a long pause): asked again. A refused connection
                // or configuration is not retried: it fails at once, below.
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
            catch (Exception e) when (e is NatsException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                throw new NatsSetupException($"NATS {SecretText.Redact(options.Servers)}: {FirstLine(e.Message)}{(attempt > 1 ? $" ({attempt} attempts)" : "")}", e);
            }
        }
    }

    /// <summary>The ALERTS and ALERTS_DEAD streams as <paramref name="options"/> configure them: what <see cref="EnsureAsync"/> creates or updates.</summary>
    public static IReadOnlyList<StreamConfig> Configs(NatsAlertOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return
        [
            new StreamConfig(NatsAlertOptions.StreamName, [NatsAlertOptions.AlertSubjects])
            {
                Description = "Every alert Breadboard's rules fired, one subject per rule; message id = alert id.",
                Storage = StreamConfigStorage.File,
                Retention = StreamConfigRetention.Limits,
                MaxAge = options.MaxAge,
                MaxMsgs = options.MaxMessages,
                DuplicateWindow = options.DuplicateWindow,
                NumReplicas = options.Replicas,
            },
            new StreamConfig(NatsAlertOptions.DeadStreamName, [NatsAlertOptions.DeadSubjects])
            {
                Description = "Notifications a channel gave up on, with the last error in the headers.",
                Storage = StreamConfigStorage.File,
                MaxAge = options.MaxAge,
                NumReplicas = options.Replicas,
            },
        ];
    }

    /// <summary>
    /// How a stream on the server differs from <paramref name="expected"/> (one of <see cref="Configs"/>) in what
    /// <see cref="EnsureAsync"/> sets, each as <c>setting actual (expected …)</c>; empty when it matches.
    /// </summary>
    public static IReadOnlyList<string> Differences(StreamConfig expected, StreamConfig actual)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        var differences = new List<string>();
        void Compare<T>(string name, T want, T have, Func<T, string> show)
        {
            if (!EqualityComparer<T>.Default.Equals(want, have))
            {
                differences.Add($"{name} {show(have)} (expected {show(want)})");
            }
        }

        static string List(ICollection<string>? subjects) => subjects is null ? "none" : string.Join(",", subjects.Order(StringComparer.Ordinal));
        Compare("subjects", List(expected.Subjects), List(actual.Subjects), s => s);
        Compare("storage", expected.Storage, actual.Storage, s => s.ToString().ToLowerInvariant());
        Compare("retention", expected.Retention, actual.Retention, r => r.ToString().ToLowerInvariant());
        Compare("max_age", expected.MaxAge, actual.MaxAge, Duration);
        // Limits left unset (ALERTS_DEAD's) get the server's defaults: only what Breadboard sets is compared.
        if (expected.MaxMsgs > 0)
        {
            Compare("max_msgs", expected.MaxMsgs, actual.MaxMsgs, m => m.ToString(CultureInfo.InvariantCulture));
        }

        if (expected.DuplicateWindow != TimeSpan.Zero)
        {
            Compare("duplicate_window", expected.DuplicateWindow, actual.DuplicateWindow, Duration);
        }

        Compare("replicas", expected.NumReplicas, actual.NumReplicas, r => r.ToString(CultureInfo.InvariantCulture));
        return differences;
    }

    private static string Duration(TimeSpan duration) => DurationText.Format((long)duration.TotalMilliseconds);

    // NatsJSApiNoResponseException: the server took the request and no answer came within the request timeout
    // (the chaos run found it from a processor paused while it set up its streams).
    private static bool TimedOut(Exception e) =>
        e is OperationCanceledException or TimeoutException or NatsJSApiNoResponseException || (e.InnerException is { } inner && TimedOut(inner));

    /// <summary>Throws unless JetStream answers with the ALERTS stream's state: a health check.</summary>
    public static async Task CheckAsync(INatsJSContext js, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(js);
        await js.GetStreamAsync(NatsAlertOptions.StreamName, cancellationToken: cancellationToken);
    }

    /// <summary>The first line of a client's or server's error, redacted and without control characters, for messages and logs.</summary>
    internal static string FirstLine(string message)
    {
        var end = message.IndexOf('\n', StringComparison.Ordinal);
        return OutsideText.ForDisplay(SecretText.RedactText(end < 0 ? message : message[..end]));
    }
}

/// <summary>NATS could not be reached or refused the stream or consumer setup; the message is one line.</summary>
public sealed class NatsSetupException : Exception
{
    public NatsSetupException()
    {
    }

    public NatsSetupException(string message)
        : base(message)
    {
    }

    public NatsSetupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
