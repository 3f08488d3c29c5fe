namespace Breadboard.Notify.Policy;

/// <summary>How much a channel's notifications are thinned out: the repeat interval and the grouping of <see cref="NoisePolicy"/>.</summary>
public sealed record NoisePolicyOptions
{
    public static NoisePolicyOptions Default { get; } = new();

    /// <summary>
    /// After a (rule, symbol) is notified, further alerts for it are held back until this much event time has passed;
    /// the first one after that goes out as a reminder. Zero notifies every alert, except a late one older than the last
    /// notified for its (rule, symbol).
    /// </summary>
    public TimeSpan RepeatInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How long (wall clock) a rule's group collects alerts before it is sent; zero sends each accepted alert at once, on its own.</summary>
    public TimeSpan GroupWait { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A group this large is sent at once, without waiting out <see cref="GroupWait"/>.</summary>
    public int MaxGroupSize { get; init; } = 50;
}
