using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Breadboard.Core.Model;

namespace Breadboard.Batch.Providers;

/// <summary>
/// Stock bars from Polygon.io's aggregates (<c>GET /v2/aggs/ticker/{ticker}/range/1/minute/{from}/{to}</c>), with the
/// API key from <c>BREADBOARD_POLYGON_API_KEY</c>.
/// </summary>
/// <remarks>
/// <para>Why Polygon: its free tier serves minute aggregates (15-minute delayed, about two years back) for a key and
/// 5 requests a minute; times are epoch milliseconds like ours; and a long range pages by cursor through
/// <c>next_url</c>, up to 50,000 bars a request. Finnhub's <c>/stock/candle</c> needs a paid plan since 2024, and Alpha
/// Vantage's free key gets 25 requests a day, its intraday history one month per request (<c>month=YYYY-MM</c>).
/// Polygon renamed itself Massive in October 2025; api.polygon.io and existing keys still answer.</para>
/// <para>The key travels as the <c>apiKey</c> query parameter (<c>next_url</c> comes without it, so it is added
/// again). It is never logged, and any message that could hold it (a server echoing the URL) has it replaced by ***.
/// <c>next_url</c> is only followed to the configured host, so the key cannot be sent elsewhere.</para>
/// <para>Crypto symbols map to Polygon's crypto tickers (BTC-USD → X:BTCUSD).</para>
/// </remarks>
public sealed class PolygonAggregatesProvider : IHistoricalProvider
{
    public const string ProviderName = "polygon";

    /// <summary>Polygon's largest page.</summary>
    public const int PageLimit = 50_000;

    private static readonly TimeSpan DefaultSpacing = TimeSpan.FromSeconds(12);

    private static readonly JsonSerializerOptions Json = new() { RespectRequiredConstructorParameters = true };

    private readonly Uri _baseUrl;
    private readonly string? _apiKey;
    private readonly ProviderHttp _http;

    public PolygonAggregatesProvider(HistoricalProviderOptions? options = null)
    {
        options ??= HistoricalProviderOptions.Default;
        _baseUrl = options.PolygonBaseUrl;
        var key = options.PolygonApiKey ?? Environment.GetEnvironmentVariable(HistoricalProviderOptions.PolygonApiKeyVariable);
        _apiKey = string.IsNullOrWhiteSpace(key) ? null : key.Trim();
        _http = new ProviderHttp(ProviderName, options, DefaultSpacing, Redact);
    }

    public string Name => ProviderName;

    /// <summary>AAPL stays AAPL; BTC-USD becomes X:BTCUSD.</summary>
    public static string ToPolygonTicker(string symbol)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(symbol);
        var upper = symbol.Trim().ToUpperInvariant();
        return AssetClasses.Infer(upper) == AssetClass.Crypto ? "X:" + upper.Replace("-", "", StringComparison.Ordinal).Replace("/", "", StringComparison.Ordinal) : upper;
    }

    public async IAsyncEnumerable<Bar> FetchAsync(string symbol, long fromMs, long toMs, BarInterval interval, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(symbol);
        var what = $"{ProviderName}: {symbol}";
        if (_apiKey is null)
        {
            throw new HistoricalProviderException($"{ProviderName}: set {HistoricalProviderOptions.PolygonApiKeyVariable}");
        }

        if (fromMs >= toMs)
        {
            yield break;
        }

        var ticker = ToPolygonTicker(symbol);
        var (multiplier, timespan) = Range(interval);
        // Both ends of Polygon's range are inclusive; ours is half-open.
        var url = new Uri(string.Create(
            CultureInfo.InvariantCulture,
            $"{Root}/v2/aggs/ticker/{Uri.EscapeDataString(ticker)}/range/{multiplier}/{timespan}/{fromMs}/{toMs - 1}?adjusted=true&sort=asc&limit={PageLimit}&apiKey={Uri.EscapeDataString(_apiKey)}"));
        var pages = 0;
        while (true)
        {
            pages++;
            var page = await _http.GetAsync(url, what, ReadPageAsync, Describe, cancellationToken);
            if (page.Status is not ("OK" or "DELAYED"))
            {
                throw new HistoricalProviderException($"{what}: status {ProviderHttp.OneLine(page.Status ?? "")}: {ProviderHttp.OneLine(Redact(page.Error ?? page.Message ?? "no message"))}");
            }

            foreach (var agg in page.Results ?? [])
            {
                if (agg.T >= fromMs && agg.T < toMs)
                {
                    yield return ToBar(agg, symbol, interval);
                }
            }

            if (string.IsNullOrEmpty(page.NextUrl))
            {
                yield break;
            }

            url = NextUrl(page.NextUrl, what);
        }
    }

    private string Root => _baseUrl.AbsoluteUri.TrimEnd('/');

    private static (int Multiplier, string Timespan) Range(BarInterval interval) => interval.Text switch
    {
        "1m" => (1, "minute"),
        "5m" => (5, "minute"),
        "15m" => (15, "minute"),
        "1h" => (1, "hour"),
        "1d" => (1, "day"),
        _ when interval.Milliseconds % 60_000 == 0 => ((int)(interval.Milliseconds / 60_000), "minute"),
        _ => throw new HistoricalProviderException($"{ProviderName}: interval {interval} is not whole minutes"),
    };

    private static Bar ToBar(Aggregate agg, string symbol, BarInterval interval) =>
        new(symbol, interval.Text, agg.T, agg.T + interval.Milliseconds, agg.O, agg.H, agg.L, agg.C, agg.V, agg.Vw, agg.N ?? 0);

    /// <summary>The cursor URL with the key added back, refused when it points to another server.</summary>
    private Uri NextUrl(string next, string what)
    {
        if (!Uri.TryCreate(next, UriKind.Absolute, out var uri))
        {
            throw new HistoricalProviderException($"{what}: next_url is not an absolute URL: {Redact(next)}");
        }

        if (!string.Equals(uri.Scheme, _baseUrl.Scheme, StringComparison.OrdinalIgnoreCase)
            || !string.Equals(uri.Authority, _baseUrl.Authority, StringComparison.OrdinalIgnoreCase))
        {
            throw new HistoricalProviderException($"{what}: next_url leads to {uri.Scheme}://{uri.Authority}, not {_baseUrl.Scheme}://{_baseUrl.Authority}; the key is not sent there");
        }

        var separator = string.IsNullOrEmpty(uri.Query) ? '?' : '&';
        return new Uri(uri.AbsoluteUri + separator + "apiKey=" + Uri.EscapeDataString(_apiKey!));
    }

    private string Redact(string text)
    {
        if (_apiKey is null)
        {
            return text;
        }

        return text.Replace(_apiKey, "***", StringComparison.Ordinal).Replace(Uri.EscapeDataString(_apiKey), "***", StringComparison.Ordinal);
    }

    private static async ValueTask<Page> ReadPageAsync(Stream stream, CancellationToken cancellationToken) =>
        await JsonSerializer.DeserializeAsync<Page>(stream, Json, cancellationToken)
            ?? throw new JsonException("the response is JSON null");

    /// <summary>Polygon errors are <c>{"status":"ERROR","request_id":"…","error":"Unknown API Key"}</c> or
    /// <c>{"status":"NOT_AUTHORIZED","message":"…"}</c>.</summary>
    private static string Describe(HttpStatusCode status, string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                var state = root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
                var text = root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString()
                    : root.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
                if (text is not null)
                {
                    return $"{text} ({state ?? "no status"}, HTTP {(int)status})";
                }
            }
        }
        catch (JsonException)
        {
            // Not Polygon's error shape: the text itself is shown below.
        }

        return $"HTTP {(int)status}{(body.Length > 0 ? ": " + body : "")}";
    }

    private sealed record Page(
        [property: JsonPropertyName("status")] string? Status = null,
        [property: JsonPropertyName("results")] List<Aggregate>? Results = null,
        [property: JsonPropertyName("next_url")] string? NextUrl = null,
        [property: JsonPropertyName("error")] string? Error = null,
        [property: JsonPropertyName("message")] string? Message = null);

    /// <summary>One aggregate: t is the window start in epoch ms, n the number of trades, vw the VWAP.</summary>
    private sealed record Aggregate(
        [property: JsonPropertyName("t")] long T,
        [property: JsonPropertyName("o")] double O,
        [property: JsonPropertyName("h")] double H,
        [property: JsonPropertyName("l")] double L,
        [property: JsonPropertyName("c")] double C,
        [property: JsonPropertyName("v")] double V,
        [property: JsonPropertyName("vw")] double? Vw = null,
        [property: JsonPropertyName("n")] long? N = null);
}
