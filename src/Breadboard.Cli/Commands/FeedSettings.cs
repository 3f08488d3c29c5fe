using Breadboard.Cli.Settings;
using Breadboard.Feeds.Synthetic;

namespace Breadboard.Cli.Commands;

/// <summary>The <c>--feed</c>, <c>--rate</c>, <c>--seed</c> and <c>--symbols</c> settings that <c>up</c> and <c>ingest</c> share.</summary>
internal static class FeedSettings
{
    private const string ReplayPrefix = "replay:";

    /// <summary>What <c>--feed</c> accepts, for help texts.</summary>
    public static string Choices => $"synthetic, replay:FILE (NDJSON/CSV/.gz), or a venue's live trades: {string.Join(", ", LiveFeedRun.Venues)}";

    /// <summary>The file of <c>replay:FILE</c>, or null for <c>synthetic</c> and the live venues; anything else is a one-line error.</summary>
    public static string? ReplayPath(string feed)
    {
        if (feed == "synthetic" || LiveFeedRun.IsVenue(feed))
        {
            return null;
        }

        if (!feed.StartsWith(ReplayPrefix, StringComparison.Ordinal))
        {
            throw new SettingException($"--feed '{feed}': expected {Choices}");
        }

        var path = feed[ReplayPrefix.Length..];
        return File.Exists(path) ? path : throw new SettingException($"--feed '{feed}': file not found");
    }

    /// <summary>The synthetic feed's options, validated.</summary>
    public static SyntheticFeedOptions Synthetic(double rate, long seed, string? symbols)
    {
        if (rate is <= 0 or > 1_000_000)
        {
            throw new SettingException("--rate must be between 0 and 1000000 ticks per second");
        }

        var options = SyntheticFeedOptions.Default with { RatePerSecond = rate, Seed = seed };
        if (symbols is null)
        {
            return options;
        }

        var names = symbols.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return names.Length > 0 ? options with { Symbols = names } : throw new SettingException("--symbols names no symbol");
    }
}
