using System.CommandLine;
using Breadboard.Core.Seams;
using Breadboard.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace Breadboard.Cli.Settings;

/// <summary>
/// A worker role's probe endpoints for Kubernetes: <c>GET /health/live</c> and <c>GET /health/ready</c> on a small
/// Kestrel server, only where <c>--health-urls</c> says; for a worker that runs a pipeline also
/// <c>POST /api/pipeline/reload</c> (X-Api-Key) and <c>GET /metrics</c> with the reload's state.
/// </summary>
/// <remarks>
/// Ready is the worker's own word (<see cref="Ready"/> once its backends are open and its loop starts,
/// <see cref="Stopping"/> when the loop ends or shutdown is asked for); it does not check the backends itself.
/// </remarks>
internal sealed class WorkerHealth : IAsyncDisposable
{
    public const string UrlsVariable = "BREADBOARD_HEALTH_URLS";

    private const string MeterName = "Breadboard.Worker";

    private const int Starting = 0;
    private const int Running = 1;
    private const int Ended = 2;

    /// <summary>How long a stop waits for probe requests in flight.</summary>
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly string _role;
    private WebApplication? _app;
    private CancellationTokenRegistration _onShutdown;
    private int _state = Starting;
    private PipelineReloader? _reloader;

    private WorkerHealth(string role) => _role = role;

    /// <summary>The addresses the server listens on (the real port where the URL said 0).</summary>
    public IReadOnlyList<string> Urls { get; private set; } = [];

    /// <summary>The line a command prints once the server runs: where to probe readiness.</summary>
    public string Line => "health: " + string.Join(", ", Urls.Select(u => u.TrimEnd('/') + "/health/ready"));

    /// <summary>--health-urls / <see cref="UrlsVariable"/>: off unless given.</summary>
    public static Option<string?> Option() => new("--health-urls")
    {
        Description = $"Serve GET /health/live and /health/ready (Kubernetes probes) over http here, e.g. http://0.0.0.0:8080; ';' between several (default: off, env {UrlsVariable}).",
    };

    /// <summary>The option's value, else the environment's, checked; null when neither is set.</summary>
    public static string? ResolveUrls(ParseResult parse, Option<string?> option)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var value = parse.GetValue(option);
        if (string.IsNullOrEmpty(value))
        {
            value = Environment.GetEnvironmentVariable(UrlsVariable);
        }

        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var urls = value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (urls.Length == 0)
        {
            throw new SettingException($"{Describe(value)}: no URL");
        }

        foreach (var url in urls)
        {
            // ASP.NET's wildcard hosts (http://*:8080, http://+:8080) mean every interface, as 0.0.0.0 does.
            var checkable = url.Replace("://*:", "://0.0.0.0:", StringComparison.Ordinal).Replace("://+:", "://0.0.0.0:", StringComparison.Ordinal);
            if (!Uri.TryCreate(checkable, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new SettingException($"{Describe(value)}: '{SecretText.Redact(url)}' is not an http:// or https:// URL");
            }

            // The worker has no certificate to serve TLS with, and a kubelet's probes need none.
            if (uri.Scheme == "https")
            {
                throw new SettingException($"{Describe(value)}: '{SecretText.Redact(url)}': the health endpoints are served over plain http only");
            }

            // Kestrel refuses a path base in its URLs; the probes' paths are fixed.
            if (uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
            {
                throw new SettingException($"{Describe(value)}: '{SecretText.Redact(url)}' has a {(uri.UserInfo.Length > 0 ? "user" : "path")}; give scheme, host and port only");
            }
        }

        return string.Join(';', urls);
    }

    /// <summary>Starts the server when <paramref name="option"/> or <see cref="UrlsVariable"/> is set; null otherwise.</summary>
    /// <param name="role">The worker role, reported by /health/ready.</param>
    /// <param name="cancellationToken">The command's shutdown signal: readiness turns to stopping as soon as it fires.</param>
    /// <exception cref="SettingException">A bad URL, or the server cannot listen there (port in use, say).</exception>
    public static async Task<WorkerHealth?> StartAsync(ParseResult parse, Option<string?> option, string role, CancellationToken cancellationToken)
    {
        var urls = ResolveUrls(parse, option);
        if (urls is null)
        {
            return null;
        }

        var health = new WorkerHealth(role);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        // Bind only where told: no appsettings.json or ASPNETCORE_*/Kestrel__ environment adds an endpoint.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.WebHost.UseUrls(urls);
        builder.Logging.ClearProviders();
        var meter = new System.Diagnostics.Metrics.Meter(MeterName);
        builder.Services.AddSingleton(meter); // disposed with the app
        builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddMeter(MeterName).AddFreshness().AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0)); // scraped rarely: always the state now
        meter.CreateObservableGauge("breadboard.pipeline.stale", () => health._reloader?.LastRefusal is null ? 0 : 1, description: "Whether the last reload of the pipeline file was refused (then 1: the worker runs its previous definition).");
        meter.CreateObservableCounter("breadboard.pipeline.reload_refusals", () => health._reloader?.Refusals ?? 0, description: "Reloads of the pipeline file refused (it did not load, or changed windows or event-time settings).");
        var app = builder.Build();
        health._app = app;
        app.MapGet("/health/live", () => TypedResults.Ok(new { status = "live" }));
        app.MapGet("/health/ready", health.ReadyResult);
        app.MapPost("/api/pipeline/reload", health.ReloadAsync);
        app.MapPrometheusScrapingEndpoint("/metrics");
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            await health.DisposeAsync();
            throw new SettingException($"{Describe(urls)}: cannot listen: {e.Message.Split('\n')[0].Trim()}");
        }
        catch
        {
            await health.DisposeAsync();
            throw;
        }

        health.Urls = [.. app.Urls];
        health._onShutdown = cancellationToken.Register(health.Stopping);
        return health;
    }

    /// <summary>The worker's pipeline: /health/ready shows its digest and a refused reload, /metrics the same, and it reloads on POST.</summary>
    public void Serve(PipelineReloader reloader) => _reloader = reloader;

    /// <summary>Setup is done and the worker's loop runs: /health/ready answers 200.</summary>
    public void Ready() => Interlocked.CompareExchange(ref _state, Running, Starting);

    /// <summary>The worker's loop has ended or is ending: /health/ready answers 503 from now on.</summary>
    public void Stopping() => Volatile.Write(ref _state, Ended);

    public async ValueTask DisposeAsync()
    {
        Stopping();
        await _onShutdown.DisposeAsync();
        if (_app is { } app)
        {
            _app = null;
            using (var timeout = new CancellationTokenSource(StopTimeout))
            {
                try
                {
                    await app.StopAsync(timeout.Token);
                }
                catch (InvalidOperationException)
                {
                    // Never started (it failed to listen): nothing to stop.
                }
            }

            await app.DisposeAsync();
        }
    }

    private static string Describe(string value) => $"--health-urls (env {UrlsVariable}) = '{SecretText.Redact(value)}'";

    private IResult ReadyResult()
    {
        // A refused reload does not make the worker unready: it runs its previous definition correctly; it says so.
        var pipeline = _reloader is { } r ? new { digest = r.Running.Digest(), loaded_at = Core.Model.EventTime.ToIso(r.LoadedAt), stale = r.LastRefusal } : null;
        return Volatile.Read(ref _state) switch
        {
            Running => TypedResults.Ok(new { status = "ready", role = _role, pipeline }),
            Starting => TypedResults.Json(new { status = "starting", role = _role, pipeline }, statusCode: StatusCodes.Status503ServiceUnavailable),
            _ => TypedResults.Json(new { status = "stopping", role = _role, pipeline }, statusCode: StatusCodes.Status503ServiceUnavailable),
        };
    }

    private async Task<IResult> ReloadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (Web.ApiKey.Refusal(request, Commands.UpCommand.ApiKey()) is { } refusal)
        {
            return refusal;
        }

        if (_reloader is not { } reloader)
        {
            return TypedResults.Problem("this worker runs no pipeline", statusCode: StatusCodes.Status409Conflict);
        }

        var result = await reloader.ReloadAsync(cancellationToken);
        return result.Applied ? TypedResults.Ok(result) : TypedResults.UnprocessableEntity(result);
    }
}
