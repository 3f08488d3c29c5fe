using System.CommandLine;
using Breadboard.Batch.Backfill;
using Breadboard.Batch.Providers;
using Breadboard.Cli.Settings;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.Feeds.Live;
using Breadboard.Web.Api;
using Microsoft.Extensions.Logging;

namespace Breadboard.Cli.Commands;

/// <summary>
/// <c>--feed coinbase|binance|kraken|alpaca</c> for <c>up</c> and <c>ingest</c>: the exchange connection, and the
/// backfill that fills, from a historical provider, the minutes a disconnect or a sequence jump left without trades.
/// </summary>
internal sealed partial class LiveFeedRun
{
    /// <summary>The venues <c>--feed</c> accepts besides synthetic and replay:FILE.</summary>
    public static IReadOnlyList<string> Venues => LiveFeeds.Names;

    private readonly IReadOnlyList<string> _symbols;

    private LiveFeedRun(LiveFeed feed, IReadOnlyList<string> symbols, string backfillProvider)
    {
        Feed = feed;
        _symbols = symbols;
        BackfillProvider = backfillProvider;
    }

    public LiveFeed Feed { get; }

    /// <summary>The provider gaps are filled from, or "none".</summary>
    public string BackfillProvider { get; }

    /// <summary>The options both commands add.</summary>
    public sealed class Options
    {
        public Option<string?> Url { get; } = new("--feed-url") { Description = "With a live --feed: the venue's WebSocket endpoint instead of its production one (sandboxes, tests)." };

        public Option<string?> Backfill { get; } = new("--backfill")
        {
            Description = $"With a live --feed: the historical provider that fills gaps after reconnects (binance, polygon, synthetic, none). Default: binance for crypto venues; polygon for alpaca when {HistoricalProviderOptions.PolygonApiKeyVariable} is set, else none.",
        };

        public void AddTo(Command command)
        {
            command.Options.Add(Url);
            command.Options.Add(Backfill);
        }
    }

    public static bool IsVenue(string feed) => Venues.Contains(feed, StringComparer.Ordinal);

    /// <summary>The feed for <paramref name="venue"/>; bad settings are one-line errors.</summary>
    public static LiveFeedRun Create(string venue, string? symbols, ParseResult parse, Options options, ILogger logger)
    {
        var names = Symbols(venue, symbols);
        IVenueProtocol protocol;
        try
        {
            protocol = LiveFeeds.Protocol(venue, names);
        }
        catch (ArgumentException e)
        {
            throw new SettingException($"--feed {venue}: {CommandRunner.OneLine(e)}");
        }

        Uri? url = null;
        if (parse.GetValue(options.Url) is { } text)
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out url) || url.Scheme is not ("ws" or "wss"))
            {
                throw new SettingException($"--feed-url '{text}': expected a ws:// or wss:// URL");
            }
        }

        var backfill = parse.GetValue(options.Backfill) ?? DefaultBackfill(protocol);
        if (backfill != "none" && !HistoricalProviders.Names.Contains(backfill, StringComparer.Ordinal))
        {
            throw new SettingException($"--backfill '{backfill}': use one of {string.Join(", ", HistoricalProviders.Names.Where(n => n != "file"))}, none");
        }

        if (backfill == "file")
        {
            throw new SettingException("--backfill file: a file cannot fill live gaps; use binance, polygon, synthetic or none");
        }

        return new LiveFeedRun(new LiveFeed(protocol, LiveFeedOptions.Default with { Url = url }, logger), names, backfill);
    }

    /// <summary>One line for the start banner.</summary>
    public string Describe() =>
        $"{Feed.Stats.Venue} live trades ({string.Join(", ", _symbols)}) from {Feed.Stats.Url}; gaps backfilled from {BackfillProvider}";

    /// <summary>The connection's state for <c>/api/pipeline</c>.</summary>
    public IReadOnlyList<FeedConnectionJson> Status()
    {
        var s = Feed.Stats.Snapshot();
        return [new FeedConnectionJson(s.Venue, s.Url, s.Connected, s.Reconnects, s.Messages, s.MessagesPerSecond, s.Trades, s.Heartbeats, s.Malformed, s.Unknown, s.VenueErrors, s.SequenceGaps, s.Gaps, s.LastMessageMs is { } ms ? EventTime.ToIso(ms) : null, s.LastError)];
    }

    /// <summary>Fills each reported gap from the provider into the store until the feed stops; failures are logged, never fatal.</summary>
    public async Task BackfillAsync(IMarketStore? store, ILogger logger, CancellationToken cancellationToken)
    {
        if (BackfillProvider == "none" || store is null)
        {
            await foreach (var _ in Feed.Gaps.ReadAllAsync(CancellationToken.None))
            {
                // Counted on /api/pipeline; nothing to fill them from.
            }

            return;
        }

        var provider = HistoricalProviders.Create(BackfillProvider, HistoricalProviderOptions.Default with { Logger = logger });
        var backfill = new GapBackfill(provider, store, BarInterval.OneMinute, logger);
        await foreach (var gap in Feed.Gaps.ReadAllAsync(CancellationToken.None))
        {
            try
            {
                await backfill.FillAsync(gap.Symbol, gap.LastTs, gap.ResumedTs, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogBackfillFailed(logger, OutsideText.ForDisplay(gap.Symbol), OutsideText.ForDisplay(gap.Reason), OutsideText.ForDisplay(SecretText.RedactText(e.Message)));
            }
        }
    }

    private static string DefaultBackfill(IVenueProtocol protocol) =>
        protocol.AssetClass == AssetClass.Crypto ? "binance"
        : string.IsNullOrEmpty(Environment.GetEnvironmentVariable(HistoricalProviderOptions.PolygonApiKeyVariable)) ? "none" : "polygon";

    private static string[] Symbols(string venue, string? symbols)
    {
        if (symbols is null)
        {
            return venue == "alpaca" ? ["AAPL", "MSFT", "NVDA", "TSLA", "AMZN"] : ["BTC-USD", "ETH-USD"];
        }

        var names = symbols.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return names.Length > 0 ? names : throw new SettingException("--symbols names no symbol");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "backfill {Symbol} ({Reason}) failed: {Error}")]
    private static partial void LogBackfillFailed(ILogger logger, string symbol, string reason, string error);
}
