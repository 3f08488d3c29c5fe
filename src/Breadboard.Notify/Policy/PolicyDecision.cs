namespace Breadboard.Notify.Policy;

/// <summary>What <see cref="NoisePolicy.Offer"/> did with an alert.</summary>
public enum PolicyOutcome
{
    /// <summary>It joined a pending group and will be notified.</summary>
    Accepted,

    /// <summary>An active silence matched it.</summary>
    Silenced,

    /// <summary>The same (rule, symbol) was notified less than the repeat interval earlier, in event time.</summary>
    Repeat,

    /// <summary>An alert with the same id was already accepted (a redelivery).</summary>
    Duplicate,
}

/// <summary>The outcome of offering one alert to a channel's <see cref="NoisePolicy"/>.</summary>
/// <param name="SilenceId">The id of the matching silence when <paramref name="Outcome"/> is <see cref="PolicyOutcome.Silenced"/>.</param>
/// <param name="Reminder">For an accepted alert: the same (rule, symbol) had been notified before and the repeat interval has passed.</param>
public readonly record struct PolicyDecision(PolicyOutcome Outcome, string? SilenceId = null, bool Reminder = false)
{
    public bool IsAccepted => Outcome == PolicyOutcome.Accepted;
}
