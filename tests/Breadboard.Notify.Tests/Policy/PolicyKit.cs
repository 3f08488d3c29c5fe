using Breadboard.Core.Model;
using Breadboard.Notify.Policy;
using Microsoft.Extensions.Time.Testing;

namespace Breadboard.Notify.Tests.Policy;

internal static class PolicyKit
{
    /// <summary>2026-01-02T14:00:00.000Z, the event time of the first window end.</summary>
    public const long T0 = 1767362400000;

    public const long Minute = 60_000;

    public const long Hour = 60 * Minute;

    /// <summary>The wall clock the tests start at: a day after <see cref="T0"/>, so nothing confuses the two.</summary>
    public static readonly DateTimeOffset Now0 = new(2026, 1, 3, 9, 0, 0, TimeSpan.Zero);

    public static readonly IReadOnlyCollection<Silence> NoSilences = [];

    /// <summary>An alert of a 5m window ending at <paramref name="ts"/>: its id is the engine's, so equal inputs give equal ids.</summary>
    public static Alert Fire(string rule, string symbol, long ts) =>
        new(Alert.MakeId(rule, symbol, "5m", ts - (5 * Minute)), rule, symbol, "5m", ts - (5 * Minute), ts, -5.5, -5, ts);

    public static FakeTimeProvider Clock() => new(Now0);

    public static Silence Mute(string? rule = null, string? symbol = null, string? channel = null, DateTimeOffset? starts = null, DateTimeOffset? ends = null) =>
        new()
        {
            Id = Guid.NewGuid().ToString("N"),
            Rule = rule,
            Symbol = symbol,
            Channel = channel,
            StartsAt = starts ?? Now0,
            EndsAt = ends ?? Now0.AddHours(2),
            CreatedBy = "test",
            Comment = "maintenance",
        };
}
