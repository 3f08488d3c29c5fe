using Breadboard.Core.Pipeline;
using Breadboard.Notify.Policy;

namespace Breadboard.Notify.Notifier;

/// <summary>How a channel's notifier retries and shapes notifications.</summary>
public sealed record NotifierOptions
{
    public static NotifierOptions Default { get; } = new();

    /// <summary>
    /// Delivery attempts of one notification by this notifier before it goes to the dead letters. Deliveries the bus
    /// made before (to a notifier since killed) do not count: that one may never have tried.
    /// </summary>
    public int MaxDeliveries { get; init; } = 5;

    /// <summary>Wait after the first failed attempt; it doubles after each further one, up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How often silences are read again from their store.</summary>
    public TimeSpan SilenceRefresh { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often alerts read and not yet acknowledged are kept from redelivery; well inside the bus's ack wait.</summary>
    public TimeSpan KeepAliveEvery { get; init; } = TimeSpan.FromSeconds(10);

    public NoisePolicyOptions Policy { get; init; } = NoisePolicyOptions.Default;

    /// <summary>
    /// The pipeline's rules, so that notifications word each value in its rule's unit (a percentage, a multiple);
    /// an alert of a rule not listed gets a plain number. By default the rules of the default pipeline.
    /// </summary>
    public IReadOnlyList<RuleDefinition> Rules { get; init; } = PipelineDefinition.Default.Rules;

    /// <summary>
    /// On stop, offer what was read and deliver every pending group (one try each, within 10 s) instead of leaving
    /// it to the next run: for transports that do not deliver again (the embedded in-process bus).
    /// </summary>
    public bool DeliverPendingOnStop { get; init; }
}
