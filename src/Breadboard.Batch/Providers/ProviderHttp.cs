using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Breadboard.Core.Seams;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;

namespace Breadboard.Batch.Providers;

/// <summary>
/// GET with the HTTP providers' manners: a minimum spacing between requests, Retry-After honoured on 429 and 418,
/// exponential backoff on 5xx, timeouts and broken connections, and one-line <see cref="HistoricalProviderException"/>s
/// for everything else.
/// </summary>
/// <remarks>A failure's message goes through <c>redact</c>, which hides the API key should a server echo it, and
/// then through <see cref="OutsideText.ForDisplay"/>: the server's words are logged and printed.</remarks>
internal sealed partial class ProviderHttp
{
    private const int MaxBodyInMessage = 200;

    // One client for the process, as HttpClient wants; connections are renewed so DNS changes are seen.
    private static readonly Lazy<HttpClient> SharedClient = new(() => new HttpClient(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        AutomaticDecompression = DecompressionMethods.All,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
        DefaultRequestHeaders = { { "User-Agent", "breadboard-batch" } },
    });

    private readonly string _provider;
    private readonly HttpClient _http;
    private readonly HistoricalProviderOptions _options;
    private readonly ILogger _logger;
    private readonly Func<string, string> _redact;
    private readonly TimeSpan _spacing;
    private readonly ResiliencePipeline _retry;
    private readonly Lock _turnLock = new();
    private DateTimeOffset _nextTurn = DateTimeOffset.MinValue;

    public ProviderHttp(string provider, HistoricalProviderOptions options, TimeSpan defaultSpacing, Func<string, string>? redact = null)
    {
        _provider = provider;
        _options = options;
        _http = options.HttpClient ?? SharedClient.Value;
        _logger = options.Logger ?? NullLogger.Instance;
        _redact = redact ?? (text => text);
        _spacing = options.MinRequestSpacing ?? defaultSpacing;
        _retry = BuildRetry();
    }

    /// <summary>The status and the server's error text, already shortened and redacted.</summary>
    public delegate string DescribeError(HttpStatusCode status, string body);

    /// <summary>
    /// GETs <paramref name="url"/> and hands the body to <paramref name="read"/>, retrying the whole exchange on
    /// transient failures (a body cut off half-way is read again).
    /// </summary>
    /// <param name="what">Names the request in messages: "binance: BTC-USD".</param>
    public async Task<T> GetAsync<T>(Uri url, string what, Func<Stream, CancellationToken, ValueTask<T>> read, DescribeError describe, CancellationToken cancellationToken)
    {
        var attempts = 0;
        try
        {
            return await _retry.ExecuteAsync(
                async ct =>
                {
                    attempts++;
                    return await AttemptAsync(url, what, read, describe, ct);
                },
                cancellationToken);
        }
        catch (RateLimitedException e)
        {
            var after = e.RetryAfter is { } wait ? string.Create(CultureInfo.InvariantCulture, $", Retry-After {wait.TotalSeconds:0.#} s") : "";
            var reason = e.RetryAfter > _options.MaxRetryAfter
                ? string.Create(CultureInfo.InvariantCulture, $" (more than the {_options.MaxRetryAfter.TotalSeconds:0.#} s we wait)")
                : string.Create(CultureInfo.InvariantCulture, $" after {attempts} attempts");
            throw new HistoricalProviderException($"{what}: rate limited (HTTP {(int)e.Status}{after}){reason}", e);
        }
        catch (ServerErrorException e)
        {
            throw new HistoricalProviderException($"{what}: {e.Message} after {attempts} attempts", e);
        }
        catch (Exception e) when (IsTransport(e, cancellationToken))
        {
            var reason = e is OperationCanceledException ? string.Create(CultureInfo.InvariantCulture, $"no answer within {_options.RequestTimeout.TotalSeconds:0.#} s") : e.Message;
            throw new HistoricalProviderException($"{what}: unreachable after {attempts} attempts: {OneLine(_redact(reason))}", e);
        }
    }

    private async ValueTask<T> AttemptAsync<T>(Uri url, string what, Func<Stream, CancellationToken, ValueTask<T>> read, DescribeError describe, CancellationToken cancellationToken)
    {
        await WaitForTurnAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        var ct = timeout.Token;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        using var response = await SendSpacedAsync(request, ct);
        var status = response.StatusCode;
        if (status is HttpStatusCode.TooManyRequests || (int)status == 418)
        {
            throw new RateLimitedException(status, RetryAfter(response, _options.TimeProvider));
        }

        if ((int)status >= 500)
        {
            var body = await ReadShortAsync(response, ct);
            throw new ServerErrorException($"HTTP {(int)status}{(body.Length > 0 ? ": " + body : "")}");
        }

        if (!response.IsSuccessStatusCode)
        {
            var body = await ReadShortAsync(response, ct);
            throw new HistoricalProviderException($"{what}: {OneLine(_redact(describe(status, body)))}");
        }

        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        try
        {
            return await read(stream, ct);
        }
        catch (JsonException e)
        {
            throw new HistoricalProviderException($"{what}: unreadable response (HTTP {(int)status}): {OneLine(_redact(e.Message))}", e);
        }
    }

    /// <summary>
    /// Sends, and counts the next turn from the answer too: a turn is planned before the request leaves, and a
    /// request slow to leave (a cold start, a busy machine) would otherwise be followed closer than the spacing.
    /// </summary>
    private async Task<HttpResponseMessage> SendSpacedAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        finally
        {
            if (_spacing > TimeSpan.Zero)
            {
                var next = _options.TimeProvider.GetUtcNow() + _spacing;
                lock (_turnLock)
                {
                    if (next > _nextTurn)
                    {
                        _nextTurn = next;
                    }
                }
            }
        }
    }

    /// <summary>Waits until <see cref="HistoricalProviderOptions.MinRequestSpacing"/> has passed since the last
    /// request; concurrent callers each reserve their own slot.</summary>
    private async Task WaitForTurnAsync(CancellationToken cancellationToken)
    {
        if (_spacing <= TimeSpan.Zero)
        {
            return;
        }

        var time = _options.TimeProvider;
        var now = time.GetUtcNow();
        DateTimeOffset turn;
        lock (_turnLock)
        {
            turn = _nextTurn > now ? _nextTurn : now;
            _nextTurn = turn + _spacing;
        }

        if (turn > now)
        {
            await Task.Delay(turn - now, time, cancellationToken);
        }
    }

    private ResiliencePipeline BuildRetry()
    {
        if (_options.MaxRetries <= 0)
        {
            return ResiliencePipeline.Empty;
        }

        return new ResiliencePipelineBuilder { TimeProvider = _options.TimeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = _options.MaxRetries,
                Delay = _options.RetryBaseDelay,
                MaxDelay = _options.MaxRetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception switch
                {
                    RateLimitedException limited => limited.RetryAfter is not { } after || after <= _options.MaxRetryAfter,
                    ServerErrorException => true,
                    { } e => IsTransport(e, args.Context.CancellationToken),
                    null => false,
                }),
                DelayGenerator = args => ValueTask.FromResult(
                    args.Outcome.Exception is RateLimitedException { RetryAfter: { } after } ? after : (TimeSpan?)null),
                OnRetry = args =>
                {
                    var reason = args.Outcome.Exception switch
                    {
                        RateLimitedException limited => $"HTTP {(int)limited.Status}",
                        { } e => OneLine(_redact(e.Message)),
                        null => "",
                    };
                    LogRetrying(_logger, _provider, args.AttemptNumber + 1, _options.MaxRetries + 1, reason, args.RetryDelay.TotalSeconds);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider time)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - time.GetUtcNow();
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    /// <summary>The start of the body, redacted before it is cut (a key cut in half would escape redaction).</summary>
    private async Task<string> ReadShortAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        return OutsideText.ForDisplay(_redact(body), MaxBodyInMessage);
    }

    internal static string OneLine(string text) => OutsideText.ForDisplay(text);

    /// <summary>Refused, reset, or timed out: no answer, as opposed to an answer that is an error.</summary>
    private static bool IsTransport(Exception e, CancellationToken cancellationToken) => e switch
    {
        HttpRequestException => true,
        SocketException => true,
        IOException => true,
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        _ => false,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Provider}: attempt {Attempt}/{Max} failed ({Reason}); retrying in {Seconds:0.###} s")]
    private static partial void LogRetrying(ILogger logger, string provider, int attempt, int max, string reason, double seconds);

    private sealed class RateLimitedException(HttpStatusCode status, TimeSpan? retryAfter)
        : Exception($"rate limited (HTTP {(int)status})")
    {
        public HttpStatusCode Status { get; } = status;

        public TimeSpan? RetryAfter { get; } = retryAfter;
    }

    private sealed class ServerErrorException(string message) : Exception(message);
}
