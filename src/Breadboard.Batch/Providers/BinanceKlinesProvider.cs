using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Breadboard.Core.Model;

namespace Breadboard.Batch.Providers;

/// <summary>
/// Crypto bars from Binance's public spot klines (<c>GET /api/v3/klines</c>, no key), paged 1000 at a time.
/// </summary>
/// <remarks>
/// <para>Symbols: Breadboard's BTC-USD is Binance's BTCUSDT, since Binance quotes in the USDT stablecoin, not dollars;
/// other quotes are kept (ETH-BTC is ETHBTC, BTC/EUR is BTCEUR). Bars keep the symbol asked for.</para>
/// <para>Limits are per IP by request weight (a klines request weighs 2); a 429 or 418 (IP ban) carries Retry-After,
/// which is waited out when no longer than <see cref="HistoricalProviderOptions.MaxRetryAfter"/>.</para>
/// <para>VWAP is the quote-asset volume over the volume; the kline's trade count is kept.</para>
/// </remarks>
public sealed class BinanceKlinesProvider : IHistoricalProvider
{
    public const string ProviderName = "binance";

    /// <summary>Binance's largest page.</summary>
    public const int PageLimit = 1000;

    private static readonly TimeSpan DefaultSpacing = TimeSpan.FromMilliseconds(100);

    private readonly Uri _baseUrl;
    private readonly ProviderHttp _http;

    public BinanceKlinesProvider(HistoricalProviderOptions? options = null)
    {
        options ??= HistoricalProviderOptions.Default;
        _baseUrl = options.BinanceBaseUrl;
        _http = new ProviderHttp(ProviderName, options, DefaultSpacing);
    }

    public string Name => ProviderName;

    public async IAsyncEnumerable<Bar> FetchAsync(string symbol, long fromMs, long toMs, BarInterval interval, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var pair = BinanceSymbols.ToPair(symbol);
        var what = $"{ProviderName}: {symbol}";
        var start = fromMs;
        while (start < toMs)
        {
            // endTime is inclusive at Binance; the range is half-open.
            var url = new Uri(string.Create(
                CultureInfo.InvariantCulture,
                $"{_baseUrl.AbsoluteUri.TrimEnd('/')}/api/v3/klines?symbol={Uri.EscapeDataString(pair)}&interval={interval.Text}&startTime={start}&endTime={toMs - 1}&limit={PageLimit}"));
            var page = await _http.GetAsync(url, what, (stream, ct) => ReadPageAsync(stream, symbol, interval, what, ct), Describe, cancellationToken);
            var lastOpen = long.MinValue;
            foreach (var bar in page)
            {
                lastOpen = bar.WindowStart;
                if (bar.WindowStart >= fromMs && bar.WindowStart < toMs)
                {
                    yield return bar;
                }
            }

            if (page.Count < PageLimit)
            {
                yield break;
            }

            if (lastOpen < start)
            {
                throw new HistoricalProviderException($"{what}: page from {start} did not move forward (last open time {lastOpen})");
            }

            start = lastOpen + interval.Milliseconds;
        }
    }

    private static async ValueTask<List<Bar>> ReadPageAsync(Stream stream, string symbol, BarInterval interval, string what, CancellationToken cancellationToken)
    {
        var bars = new List<Bar>();
        await foreach (var kline in JsonSerializer.DeserializeAsyncEnumerable<JsonElement>(stream, cancellationToken: cancellationToken))
        {
            bars.Add(ToBar(kline, symbol, interval, what, bars.Count));
        }

        return bars;
    }

    /// <summary>[openTime, "open", "high", "low", "close", "volume", closeTime, "quoteAssetVolume", trades, ...].</summary>
    private static Bar ToBar(JsonElement kline, string symbol, BarInterval interval, string what, int index)
    {
        if (kline.ValueKind != JsonValueKind.Array || kline.GetArrayLength() < 9)
        {
            throw new HistoricalProviderException($"{what}: kline {index} is not an array of at least 9 fields: {Abbreviate(kline)}");
        }

        if (kline[0].ValueKind != JsonValueKind.Number || !kline[0].TryGetInt64(out var openTime))
        {
            throw new HistoricalProviderException($"{what}: kline {index} has a bad open time: {Abbreviate(kline)}");
        }

        var open = Decimal(kline, 1, what, index);
        var high = Decimal(kline, 2, what, index);
        var low = Decimal(kline, 3, what, index);
        var close = Decimal(kline, 4, what, index);
        var volume = Decimal(kline, 5, what, index);
        var quoteVolume = Decimal(kline, 7, what, index);
        if (kline[8].ValueKind != JsonValueKind.Number || !kline[8].TryGetInt64(out var trades))
        {
            throw new HistoricalProviderException($"{what}: kline {index} has a bad trade count: {Abbreviate(kline)}");
        }

        double? vwap = volume > 0 ? quoteVolume / volume : null;
        return new Bar(symbol, interval.Text, openTime, openTime + interval.Milliseconds, open, high, low, close, volume, vwap, trades);
    }

    /// <summary>Binance sends prices and volumes as decimal strings, so that no float rounding happens on the way.</summary>
    private static double Decimal(JsonElement kline, int field, string what, int index)
    {
        var value = kline[field];
        if (value.ValueKind == JsonValueKind.String
            && double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed)
            && double.IsFinite(parsed))
        {
            return parsed;
        }

        throw new HistoricalProviderException($"{what}: kline {index} field {field} is not a decimal string: {Abbreviate(kline)}");
    }

    private static string Abbreviate(JsonElement element)
    {
        var text = element.GetRawText();
        return ProviderHttp.OneLine(text.Length > 120 ? text[..120] + "..." : text);
    }

    /// <summary>Binance errors are <c>{"code":-1121,"msg":"Invalid symbol."}</c>.</summary>
    private static string Describe(HttpStatusCode status, string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("msg", out var msg) && msg.ValueKind == JsonValueKind.String)
            {
                var code = document.RootElement.TryGetProperty("code", out var c) ? c.GetRawText() : "?";
                return $"{msg.GetString()} (code {code}, HTTP {(int)status})";
            }
        }
        catch (JsonException)
        {
            // Not Binance's error shape (a proxy's page, say): the text itself is shown below.
        }

        return $"HTTP {(int)status}{(body.Length > 0 ? ": " + body : "")}";
    }
}
