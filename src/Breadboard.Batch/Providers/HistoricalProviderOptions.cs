using Microsoft.Extensions.Logging;

namespace Breadboard.Batch.Providers;

/// <summary>What <see cref="HistoricalProviders.Create"/> needs to build any provider; each provider reads its own part.</summary>
public sealed record HistoricalProviderOptions
{
    /// <summary>The environment variable the <c>polygon</c> provider reads its API key from.</summary>
    public const string PolygonApiKeyVariable = "BREADBOARD_POLYGON_API_KEY";

    public static HistoricalProviderOptions Default { get; } = new();

    /// <summary>The CSV or NDJSON file of the <c>file</c> provider.</summary>
    public string? Path { get; init; }

    /// <summary>Seed of the <c>synthetic</c> provider: the same seed gives the same bars.</summary>
    public long Seed { get; init; } = 1;

    public Uri BinanceBaseUrl { get; init; } = new("https://api.binance.com");

    public Uri PolygonBaseUrl { get; init; } = new("https://api.polygon.io");

    /// <summary>Polygon's API key; null reads <see cref="PolygonApiKeyVariable"/>, empty means none.</summary>
    /// <remarks>Never logged nor put in an exception message.</remarks>
    public string? PolygonApiKey { get; init; }

    /// <summary>
    /// Least time between two requests of one provider; null takes the provider's default (100 ms for Binance's
    /// weight limits, 12 s for Polygon's free tier of 5 requests a minute).
    /// </summary>
    public TimeSpan? MinRequestSpacing { get; init; }

    /// <summary>Retries after the first attempt on 5xx, timeouts, broken connections and rate limits.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>First backoff delay; it doubles on each retry (with jitter), up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest Retry-After a rate-limited request waits out; a longer one (a Binance IP ban can last
    /// days) fails the fetch instead.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Time allowed for one request, its body included.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The HTTP client to send with; null shares one process-wide client.</summary>
    public HttpClient? HttpClient { get; init; }

    public ILogger? Logger { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
