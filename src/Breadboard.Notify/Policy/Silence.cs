using System.Diagnostics.CodeAnalysis;
using Breadboard.Core.Model;

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

    /// <summary>Null when the silence is well formed, else a one-line reason starting with <c>silence:</c>.</summary>
    public string? Validate()
    {
        if (string.IsNullOrWhiteSpace(Id))
        {
            return "silence: id must not be empty";
        }

        return ValidateMatchers(Rule, Symbol, Channel)
            ?? (EndsAt <= StartsAt ? "silence: ends_at must be after starts_at" : null);
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
        error = candidate.Validate();
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
}
