using System.Diagnostics.CodeAnalysis;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Notify.Channels;

namespace Breadboard.Notify.Policy;

/// <summary>An operator's mute: alerts matching every given matcher are not notified between <see cref="StartsAt"/> and <see cref="EndsAt"/>.</summary>
/// <remarks>
/// Times are wall clock ("for the next two hours"), not alert event time, kept to the millisecond as they are stored.
/// A silence needs at least one matcher, so that none silences everything by mistake.
/// </remarks>
public sealed record Silence
{
    public required string Id { get; init; }

    /// <summary>The rule name, exactly; null for any rule. Unknown names are allowed (the rule may come later).</summary>
    public string? Rule { get; init; }

    /// <summary>The symbol, exactly (case-sensitive), or a prefix ending in '*' such as <c>BTC-*</c>; null for any symbol.</summary>
    public string? Symbol { get; init; }

    /// <summary>The channel name (<c>email</c>, <c>slack</c>, ...), exactly; null for every channel.</summary>
    public string? Channel { get; init; }

    public required DateTimeOffset StartsAt { get; init; }

    public required DateTimeOffset EndsAt { get; init; }

    public string CreatedBy { get; init; } = "";

    public string Comment { get; init; } = "";

    /// <summary>Active from <see cref="StartsAt"/> (inclusive) to <see cref="EndsAt"/> (exclusive).</summary>
    public bool IsActive(DateTimeOffset now) => StartsAt <= now && now < EndsAt;

    public bool Matches(Alert alert, string channel, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return IsActive(now)
            && (Rule is null || string.Equals(Rule, alert.Rule, StringComparison.Ordinal))
            && (Channel is null || string.Equals(Channel, channel, StringComparison.Ordinal))
            && (Symbol is null || SymbolMatches(Symbol, alert.Symbol));
    }

    /// <summary>Longest rule, symbol or channel a silence may name.</summary>
    public const int MaxMatcherLength = 200;

    public const int MaxCreatedByLength = 200;

    public const int MaxCommentLength = 1_000;

    /// <summary>Longest a silence may last: a year, leap day included.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(366);

    /// <summary>Null when the silence is well formed for creating, else a one-line reason starting with <c>silence:</c>.</summary>
    public string? Validate()
    {
        if (string.IsNullOrWhiteSpace(Id))
        {
            return "silence: id must not be empty";
        }

        return ValidateMatchers(Rule, Symbol, Channel)
            ?? (Check(Rule, Symbol, Channel, StartsAt, EndsAt, CreatedBy, Comment) is { Count: > 0 } problems ? $"silence: {problems.Values.First()}" : null);
    }

    /// <summary>
    /// Every problem of a silence to be created, keyed by the field at fault as the API names it (<c>rule</c>,
    /// <c>symbol</c>, <c>channel</c>, <c>ends_at</c>, <c>created_by</c>, <c>comment</c>; <c>silence</c> when no
    /// matcher is given); empty when there is none. Blank text counts as absent, as in <see cref="TryCreate"/>;
    /// the times are checked only when both are given.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Check(
        string? rule,
        string? symbol,
        string? channel,
        DateTimeOffset? startsAt,
        DateTimeOffset? endsAt,
        string? createdBy,
        string? comment)
    {
        var problems = new Dictionary<string, string>(StringComparer.Ordinal);
        (rule, symbol, channel) = (Blank(rule), Blank(symbol), Blank(channel));
        if (rule is null && symbol is null && channel is null)
        {
            problems["silence"] = "give at least one of rule, symbol, channel";
        }

        Length(problems, "rule", rule, MaxMatcherLength);
        if (!Length(problems, "symbol", symbol, MaxMatcherLength) && symbol is not null)
        {
            var star = symbol.IndexOf('*', StringComparison.Ordinal);
            if (symbol == "*")
            {
                problems["symbol"] = "symbol \"*\" matches every symbol; leave it out or give a prefix such as BTC-*";
            }
            else if (star >= 0 && star != symbol.Length - 1)
            {
                problems["symbol"] = $"symbol \"{symbol}\" may only end with '*' (a prefix such as BTC-*)";
            }
        }

        if (!Length(problems, "channel", channel, MaxMatcherLength) && channel is not null && !ChannelNames.Contains(channel, StringComparer.Ordinal))
        {
            problems["channel"] = $"channel \"{channel}\" is not a notification channel: one of {string.Join(", ", ChannelNames)}";
        }

        if (startsAt is { } starts && endsAt is { } ends)
        {
            if (ends <= starts)
            {
                problems["ends_at"] = "ends_at must be after starts_at";
            }
            else if (ends - starts > MaxDuration)
            {
                problems["ends_at"] = $"ends_at is {(ends - starts).TotalDays:0.#} days after starts_at; a silence lasts at most {MaxDurationText}";
            }
        }

        Length(problems, "created_by", createdBy?.Trim(), MaxCreatedByLength);
        Length(problems, "comment", comment?.Trim(), MaxCommentLength);
        return problems;
    }

    /// <summary>The notification channels a silence may name.</summary>
    public static IReadOnlyList<string> ChannelNames => ChannelSettings.Names;

    /// <summary><see cref="MaxDuration"/> as a duration text, <c>366d</c>.</summary>
    public static string MaxDurationText => DurationText.Format((long)MaxDuration.TotalMilliseconds);

    /// <summary>
    /// The end of a silence that starts at <paramref name="startsAt"/> and lasts <paramref name="duration"/> (like
    /// 2h): false with a one-line reason when the text is no duration, is not positive, is longer than
    /// <see cref="MaxDuration"/> or would end after the last representable time.
    /// </summary>
    public static bool TryEnd(DateTimeOffset startsAt, string? duration, out DateTimeOffset endsAt, [NotNullWhen(false)] out string? problem)
    {
        endsAt = default;
        if (!DurationText.TryParse(duration, out var ms) || ms <= 0)
        {
            problem = $"'{duration}' is not a duration like 30m, 2h or 1d (at most {MaxDurationText})";
            return false;
        }

        if (ms > MaxDuration.TotalMilliseconds)
        {
            problem = $"'{duration}' is longer than a silence may last: at most {MaxDurationText}";
            return false;
        }

        var start = EventTime.FromDateTimeOffset(startsAt);
        if (start > EventTime.MaxMs - ms)
        {
            problem = $"'{duration}' from {EventTime.ToIso(start)} ends after 9999-12-31";
            return false;
        }

        endsAt = EventTime.ToDateTimeOffset(start + ms);
        problem = null;
        return true;
    }

    /// <summary>
    /// A new silence with a fresh id; blank matchers count as absent and times are cut to the millisecond.
    /// On failure <paramref name="error"/> is a one-line reason for the API or CLI to show.
    /// </summary>
    public static bool TryCreate(
        string? rule,
        string? symbol,
        string? channel,
        DateTimeOffset startsAt,
        DateTimeOffset endsAt,
        string? createdBy,
        string? comment,
        [NotNullWhen(true)] out Silence? silence,
        [NotNullWhen(false)] out string? error)
    {
        var candidate = new Silence
        {
            Id = Guid.NewGuid().ToString("N"),
            Rule = Blank(rule),
            Symbol = Blank(symbol),
            Channel = Blank(channel),
            StartsAt = ToMilliseconds(startsAt),
            EndsAt = ToMilliseconds(endsAt),
            CreatedBy = createdBy?.Trim() ?? "",
            Comment = comment?.Trim() ?? "",
        };
        var problems = Check(rule, symbol, channel, candidate.StartsAt, candidate.EndsAt, createdBy, comment);
        error = problems.Count == 0 ? null : $"silence: {problems.Values.First()}";
        silence = error is null ? candidate : null;
        return error is null;
    }

    /// <summary>The matcher rules alone: also what a stored silence must satisfy to be loaded.</summary>
    internal static string? ValidateMatchers(string? rule, string? symbol, string? channel)
    {
        if (rule is null && symbol is null && channel is null)
        {
            return "silence: give at least one of rule, symbol, channel";
        }

        if (rule?.Length == 0 || symbol?.Length == 0 || channel?.Length == 0)
        {
            return "silence: rule, symbol and channel must not be empty strings (leave them out instead)";
        }

        if (symbol is not null)
        {
            var star = symbol.IndexOf('*', StringComparison.Ordinal);
            if (symbol == "*")
            {
                return "silence: symbol \"*\" matches every symbol; leave it out or give a prefix such as BTC-*";
            }

            if (star >= 0 && star != symbol.Length - 1)
            {
                return $"silence: symbol \"{symbol}\" may only end with '*' (a prefix such as BTC-*)";
            }
        }

        return null;
    }

    internal static DateTimeOffset ToMilliseconds(DateTimeOffset time) =>
        EventTime.ToDateTimeOffset(EventTime.FromDateTimeOffset(time));

    private static bool SymbolMatches(string pattern, string symbol) =>
        pattern.EndsWith('*')
            ? symbol.StartsWith(pattern.AsSpan(0, pattern.Length - 1), StringComparison.Ordinal)
            : string.Equals(pattern, symbol, StringComparison.Ordinal);

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>Records a problem when <paramref name="value"/> is longer than <paramref name="max"/>; true when it is.</summary>
    private static bool Length(Dictionary<string, string> problems, string field, string? value, int max)
    {
        if (value is null || value.Length <= max)
        {
            return false;
        }

        problems[field] = $"{field} is {value.Length} characters long; at most {max}";
        return true;
    }
}
