using Breadboard.Core.Pipeline;

namespace Breadboard.Web;

/// <summary>How the web server runs and what it reports about the backends it was given.</summary>
public sealed record WebOptions
{
    /// <summary>Loopback only unless the user names another address.</summary>
    public const string DefaultUrls = "http://127.0.0.1:8000";

    /// <summary>The environment variable the host reads <see cref="ApiKey"/> from.</summary>
    public const string ApiKeyVariable = "BREADBOARD_API_KEY";

    public string Urls { get; init; } = DefaultUrls;

    public required PipelineDefinition Pipeline { get; init; }

    /// <summary>The definition running now, which a live reload replaces; null: always <see cref="Pipeline"/>.</summary>
    public Func<PipelineDefinition>? RunningPipeline { get; init; }

    /// <summary>The definition running now: <see cref="RunningPipeline"/>'s, else <see cref="Pipeline"/>.</summary>
    public PipelineDefinition Running => RunningPipeline?.Invoke() ?? Pipeline;

    /// <summary>Epoch ms the running definition was loaded (started or reloaded); shown on /api/pipeline.</summary>
    public Func<long>? PipelineLoadedAt { get; init; }

    /// <summary>Reloads the pipeline file (<c>POST /api/pipeline/reload</c>); null where the process cannot.</summary>
    public Func<CancellationToken, Task<Api.PipelineReload>>? Reload { get; init; }

    /// <summary>The store's URL as configured, shown on /api/pipeline (never with credentials).</summary>
    public required string StoreUrl { get; init; }

    public string BusUrl { get; init; } = "memory://";

    /// <summary>Per-partition consumer lag of the bus, when it has partitions (Kafka); null for the in-process bus.</summary>
    public Func<IReadOnlyList<Api.BusPartitionLag>>? BusLag { get; init; }

    /// <summary>The live feed's connections, when the feed is an exchange's.</summary>
    public Func<IReadOnlyList<Api.FeedConnectionJson>>? Feeds { get; init; }

    /// <summary>The key mutating endpoints require in the X-Api-Key header; null disables them.</summary>
    public string? ApiKey { get; init; }

    /// <summary>The alert bus setting, shown with its status.</summary>
    public string AlertsUrl { get; init; } = "memory://";

    /// <summary>Asks a server alert bus (NATS) whether it answers, throwing when it does not; null for the in-process bus.</summary>
    public Func<CancellationToken, Task>? AlertsCheck { get; init; }

    /// <summary>Where notification silences live (a file embedded, NATS key-value in production); null hides the silences API.</summary>
    public Breadboard.Notify.Policy.ISilenceStore? Silences { get; init; }

    /// <summary>Largest page of bars or alerts one request returns.</summary>
    public int MaxLimit { get; init; } = 10_000;

    /// <summary>Largest page of ticks one request returns.</summary>
    public int MaxTickLimit { get; init; } = 5_000;

    /// <summary>
    /// Host names the server answers to besides those of <see cref="Urls"/> (a loopback or wildcard address brings
    /// localhost, 127.0.0.1 and [::1]); without a port; <c>*.example.com</c> for subdomains; <c>*</c> turns the check off.
    /// </summary>
    /// <remarks>A server listening on 0.0.0.0 is reached by names it cannot know (a Service name, a DNS name): list them.</remarks>
    public IReadOnlyList<string>? AllowedHosts { get; init; }

    /// <summary>Origins (<c>https://dash.example.com</c>) of other sites whose pages may open the stream and send mutating requests; the server's own origin always may.</summary>
    public IReadOnlyList<string> AllowedOrigins { get; init; } = [];

    /// <summary>Live-stream connections served at once; one more is refused with 503 before the upgrade.</summary>
    public int MaxStreamClients { get; init; } = DefaultMaxStreamClients;

    public const int DefaultMaxStreamClients = 100;

    /// <summary>Every Host name the server answers to: those of <see cref="Urls"/> and <see cref="AllowedHosts"/>.</summary>
    public IReadOnlyList<string> ServedHosts() => BrowserBoundary.AllowedHosts(this);

    /// <summary>The environment variable the host reads <see cref="AllowedHosts"/> from.</summary>
    public const string AllowedHostsVariable = "BREADBOARD_ALLOWED_HOSTS";

    /// <summary>The environment variable the host reads <see cref="AllowedOrigins"/> from.</summary>
    public const string AllowedOriginsVariable = "BREADBOARD_ALLOWED_ORIGINS";

    /// <summary>The environment variable the host reads <see cref="MaxStreamClients"/> from.</summary>
    public const string MaxStreamClientsVariable = "BREADBOARD_MAX_STREAM_CLIENTS";
}
