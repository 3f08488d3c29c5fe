using System.Diagnostics.Metrics;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.Web.Api;
using Breadboard.Web.Live;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace Breadboard.Web;

/// <summary>Builds the web server: REST API, live stream, dashboard, health, metrics and OpenAPI, over a store and an optional running pipeline.</summary>
public static class WebServer
{
    /// <summary>Meter behind /metrics (Prometheus names: breadboard_ticks_total, …).</summary>
    public const string MeterName = "Breadboard";

    /// <summary>The response header with the request's id, which its log records and problem answers carry too.</summary>
    public const string RequestIdHeader = "X-Request-Id";

    /// <param name="stats">The running pipeline's counters, or null when only the API runs.</param>
    public static WebApplication Build(WebOptions options, IMarketStore store, LiveHub hub, PipelineStats? stats = null, Action<ILoggingBuilder>? logging = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxStreamClients, 1);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            WebRootPath = Path.Combine(AppContext.BaseDirectory, "wwwroot"),
        });
        builder.WebHost.UseUrls(options.Urls);
        builder.Logging.ClearProviders();
        logging?.Invoke(builder.Logging);

        var meter = new Meter(MeterName);
        builder.Services.AddSingleton(meter); // disposed with the app
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(hub);
        builder.Services.AddSingleton(hub.UsePipeline(options.Pipeline));
        builder.Services.AddSingleton(new PipelineMonitor(store, options, hub, stats));
        builder.Services.AddSingleton<BrowserBoundary>();
        builder.Services.AddSingleton<BacktestGate>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddHostedService<LiveService>();
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            // One id, the one the log and the X-Request-Id header carry, instead of the default trace id.
            c.ProblemDetails.Extensions.Remove("traceId");
            c.ProblemDetails.Extensions.Remove("trace_id");
            c.ProblemDetails.Extensions["request_id"] = c.HttpContext.TraceIdentifier;
        });
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = Json.Options.PropertyNamingPolicy;
            o.SerializerOptions.Encoder = Json.Options.Encoder;
            o.SerializerOptions.Converters.Add(new FiniteDoubleConverter());
        });
        builder.Services.AddOpenApi();
        builder.Services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(MeterName)
            .AddFreshness()
            .AddAspNetCoreInstrumentation()
            .AddPrometheusExporter());

        var app = builder.Build();
        RegisterMetrics(meter, app.Services.GetRequiredService<PipelineMonitor>(), hub);
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();
        hub.Logger = loggers.CreateLogger<LiveHub>();
        var streamLogger = loggers.CreateLogger(typeof(StreamEndpoint).FullName!);
        var boundary = app.Services.GetRequiredService<BrowserBoundary>();

        // Order matters: headers are promised before anything can answer; failures are caught around everything
        // else; the Host is checked before any content is served; the Origin once upgrades are recognisable; the
        // API key once the endpoint is known, and before the endpoint reads the body.
        app.Use(BrowserBoundary.HeadersAsync);
        app.UseMiddleware<RequestFailures>();
        app.UseStatusCodePages();
        app.Use(boundary.CheckHostAsync);
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(20) });
        app.Use(boundary.CheckOriginAsync);
        var webRoot = new PhysicalFileProvider(Path.Combine(AppContext.BaseDirectory, "wwwroot"));
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = webRoot });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = webRoot });
        app.UseRouting();
        app.Use((context, next) => ApiKey.CheckAsync(context, next, options));

        BreadboardApi.Map(app);
        SilencesApi.Map(app);
        BacktestApi.Map(app);
        app.Map("/api/stream", (HttpContext context) => StreamEndpoint.HandleAsync(context, hub, options, streamLogger)).ExcludeFromDescription();
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }

    private static void RegisterMetrics(Meter meter, PipelineMonitor monitor, LiveHub hub)
    {
        // The pipeline's counters, read when /metrics is scraped.
        meter.CreateObservableCounter("breadboard.ticks", () => monitor.Stats?.Ticks ?? 0, description: "Ticks taken by the engine, duplicates and late ones included.");
        meter.CreateObservableCounter("breadboard.bars", () => monitor.Stats?.Bars ?? 0, description: "Bars emitted.");
        meter.CreateObservableCounter("breadboard.alerts", () => monitor.Stats?.Alerts ?? 0, description: "Alerts fired.");
        meter.CreateObservableCounter("breadboard.late", () => monitor.Status().Late, description: "Ticks too late for every window.");
        meter.CreateObservableCounter("breadboard.duplicates", () => monitor.Status().Duplicates, description: "Duplicate ticks dropped.");
        meter.CreateObservableCounter("breadboard.rejects", () => monitor.Status().Rejects, description: "Input refused: lines that could not be read and ticks the engine refused.");
        meter.CreateObservableCounter("breadboard.future", () => monitor.Stats?.Future ?? 0, description: "Ticks refused as being from the future (ahead of the wall clock, or a jump later ticks contradicted).");
        meter.CreateObservableGauge("breadboard.held", () => monitor.Stats?.Held ?? 0, description: "Ticks held by the future guard, waiting for later ticks to confirm their jump.");
        meter.CreateObservableGauge("breadboard.watermark.lag", () => monitor.Status().WatermarkLagMs ?? 0, unit: "ms", description: "Wall clock minus the engine's watermark.");
        meter.CreateObservableGauge("breadboard.stream.clients", () => hub.ClientCount, description: "Open live-stream connections.");
        meter.CreateObservableGauge("breadboard.bus.lag", () => monitor.Status().Bus.LagSeconds ?? 0, unit: "s", description: "Worst partition's consumer lag (Kafka bus).");
        meter.CreateObservableGauge(
            "breadboard.bus.partition.lag",
            () => monitor.Status().Bus.Partitions?.Select(p => new Measurement<long>(p.LagMessages, new KeyValuePair<string, object?>("topic", p.Topic), new KeyValuePair<string, object?>("partition", p.Partition))) ?? [],
            description: "Messages behind the end of each partition (Kafka bus).");
    }
}
