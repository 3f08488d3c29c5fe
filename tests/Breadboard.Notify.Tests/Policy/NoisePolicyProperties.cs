using System.Globalization;
using Breadboard.Core.Model;
using Breadboard.Notify.Policy;
using CsCheck;
using Microsoft.Extensions.Time.Testing;
using static Breadboard.Notify.Tests.Policy.PolicyKit;

namespace Breadboard.Notify.Tests.Policy;

/// <summary><see cref="NoisePolicy"/> against <see cref="Reference"/> on random alert streams, with its notifications checked end to end.</summary>
public class NoisePolicyProperties
{
    private const string Channel = "email";

    private static readonly string[] Rules = ["price_drop", "volume_surge"];

    private static readonly string[] Symbols = ["BTC-USD", "BTC-EUR", "ETH-USD"];

    /// <summary>
    /// One alert: the stream's event time moves by <paramref name="Move"/> minutes and the alert is <paramref name="Late"/>
    /// minutes behind it; <paramref name="Silence"/> picks the silences offered with it; then the wall clock moves and the
    /// caller maybe takes what is due.
    /// </summary>
    public sealed record AlertStep(int Rule, int Symbol, long Move, long Late, int Silence, int Seconds, bool Take);

    private static readonly Gen<AlertStep[]> Steps = Gen.Select(
            Gen.Int[0, Rules.Length - 1],
            Gen.Int[0, Symbols.Length - 1],
            Gen.Frequency((6, Gen.Long[0, 2]), (3, Gen.Long[3, 40]), (1, Gen.Long[40, 200])),
            Gen.Frequency((6, Gen.Const(0L)), (3, Gen.Long[1, 10]), (1, Gen.Long[10, 150])),
            Gen.Frequency((6, Gen.Const(0)), (3, Gen.Int[1, 3])),
            Gen.Int[0, 12],
            Gen.Bool)
        .Select((rule, symbol, move, late, silence, seconds, take) => new AlertStep(rule, symbol, move, late, silence, seconds, take))
        .Array[0, 60];

    private static readonly Gen<NoisePolicyOptions> Options = Gen.Select(Gen.OneOf(0, 1, 30, 60), Gen.OneOf(0, 5, 10), Gen.OneOf(1, 2, 3, 50))
        .Select((repeat, wait, max) => new NoisePolicyOptions
        {
            RepeatInterval = TimeSpan.FromMinutes(repeat),
            GroupWait = TimeSpan.FromSeconds(wait),
            MaxGroupSize = max,
        });

    /// <summary>The decision rules, written as plainly as possible: a list of everything accepted, scanned every time.</summary>
    private sealed class Reference(long repeatMs)
    {
        private readonly List<Alert> _accepted = [];
        private long _newest = long.MinValue;

        public PolicyDecision Decide(Alert alert, string? silenceId)
        {
            if (silenceId is not null)
            {
                return new PolicyDecision(PolicyOutcome.Silenced, silenceId);
            }

            _newest = Math.Max(_newest, alert.Ts);
            var remembered = _accepted.Where(a => a.Ts >= _newest - (2 * repeatMs)).ToList();
            if (remembered.Exists(a => a.Id == alert.Id))
            {
                return new PolicyDecision(PolicyOutcome.Duplicate);
            }

            var earlier = remembered.FindAll(a => a.Rule == alert.Rule && a.Symbol == alert.Symbol);
            // No interval, no repeats: every alert goes out, in order or not.
            if (earlier.Count > 0 && repeatMs > 0 && alert.Ts < earlier.Max(a => a.Ts) + repeatMs)
            {
                return new PolicyDecision(PolicyOutcome.Repeat);
            }

            _accepted.Add(alert);
            return new PolicyDecision(PolicyOutcome.Accepted, Reminder: earlier.Count > 0);
        }
    }

    private sealed class Counts
    {
        public int[] Outcomes { get; } = new int[4];

        public int Reminders;
        public int SpacingChecked;
        public int Groups;
    }

    [Fact]
    public void Offer_OnRandomStreams_MatchesReferenceAndNotifiesEachAcceptedAlertOnce()
    {
        var counts = new Counts();
        Gen.Select(Options, Steps).Sample(
            (options, steps) => Run(options, steps, counts),
            iter: 5_000,
            print: input => Print(input.Item1, input.Item2));

        // The comparison means little if the streams never reach the interesting cases.
        Assert.All(counts.Outcomes, n => Assert.True(n > 0, $"outcomes {string.Join(", ", counts.Outcomes)}"));
        Assert.True(counts.Reminders > 0 && counts.SpacingChecked > 0 && counts.Groups > 0, $"reminders {counts.Reminders}, spacing checked {counts.SpacingChecked}, groups {counts.Groups}");
    }

    private static void Run(NoisePolicyOptions options, AlertStep[] steps, Counts counts)
    {
        var clock = new FakeTimeProvider(Now0);
        var policy = new NoisePolicy(Channel, options, clock);
        var repeatMs = (long)options.RepeatInterval.TotalMilliseconds;
        var reference = new Reference(repeatMs);

        // Keyed by instance: an alert forgotten and accepted again is a second alert to notify.
        var accepted = new Dictionary<Alert, (int Index, DateTimeOffset JoinedAt, bool Reminder)>(ReferenceEqualityComparer.Instance);
        var notifications = new List<Notification>();
        var cursor = T0;
        var newest = long.MinValue;
        var lateBeyondInterval = false;
        for (var i = 0; i < steps.Length; i++)
        {
            var step = steps[i];
            cursor += step.Move * Minute;
            var alert = Fire(Rules[step.Rule], Symbols[step.Symbol], cursor - (step.Late * Minute));
            var now = clock.GetUtcNow();
            var matching = new Silence { Id = "m" + i, Rule = alert.Rule, StartsAt = now, EndsAt = now.AddMinutes(1) };
            Silence[] silences = step.Silence switch
            {
                1 => [matching],
                2 => [matching with { Channel = "slack" }],
                3 => [matching with { StartsAt = now.AddTicks(1) }],
                _ => [],
            };

            var expected = reference.Decide(alert, step.Silence == 1 ? matching.Id : null);
            var actual = policy.Offer(alert, silences);
            if (actual != expected)
            {
                throw new InvalidOperationException($"step {i} ({alert.Rule} {alert.Symbol} ts {alert.Ts}): expected {expected}, policy said {actual}");
            }

            Interlocked.Increment(ref counts.Outcomes[(int)actual.Outcome]);
            if (actual.Outcome != PolicyOutcome.Silenced)
            {
                newest = Math.Max(newest, alert.Ts);
                lateBeyondInterval |= newest - alert.Ts > repeatMs;
            }

            if (actual.IsAccepted)
            {
                accepted.Add(alert, (i, now, actual.Reminder));
                Interlocked.Add(ref counts.Reminders, actual.Reminder ? 1 : 0);
            }

            clock.Advance(TimeSpan.FromSeconds(step.Seconds));
            if (step.Take)
            {
                var due = policy.TakeDue();
                foreach (var notification in due)
                {
                    var started = accepted[notification.Alerts[0]].JoinedAt;
                    if (notification.Alerts.Count < options.MaxGroupSize && clock.GetUtcNow() < started + options.GroupWait)
                    {
                        throw new InvalidOperationException($"step {i}: a group started at {started:O} was sent before its wait ended");
                    }
                }

                if (policy.NextDue <= clock.GetUtcNow())
                {
                    throw new InvalidOperationException($"step {i}: TakeDue left a group due at {policy.NextDue:O}");
                }

                notifications.AddRange(due);
            }
        }

        notifications.AddRange(policy.TakeAll());
        if (policy.NextDue is not null)
        {
            throw new InvalidOperationException("TakeAll left a group behind");
        }

        CheckNotifications(options, notifications, accepted);
        Interlocked.Add(ref counts.Groups, notifications.Count(n => n.Alerts.Count > 1));
        if (!lateBeyondInterval)
        {
            // Forgetting only lets through alerts later than one interval; without those, the interval always holds.
            CheckSpacing(accepted.Keys, repeatMs);
            Interlocked.Increment(ref counts.SpacingChecked);
        }
    }

    private static void CheckNotifications(
        NoisePolicyOptions options,
        List<Notification> notifications,
        Dictionary<Alert, (int Index, DateTimeOffset JoinedAt, bool Reminder)> accepted)
    {
        var sent = new HashSet<Alert>(ReferenceEqualityComparer.Instance);
        foreach (var notification in notifications)
        {
            if (notification.Alerts.Count == 0 || notification.Alerts.Count > options.MaxGroupSize
                || (options.GroupWait == TimeSpan.Zero && notification.Alerts.Count > 1))
            {
                throw new InvalidOperationException($"a notification of {notification.Alerts.Count} alerts");
            }

            if (notification.Channel != Channel || notification.Alerts.Any(a => a.Rule != notification.Alerts[0].Rule))
            {
                throw new InvalidOperationException($"a notification to {notification.Channel} mixes rules or channels");
            }

            var previous = -1;
            foreach (var alert in notification.Alerts)
            {
                if (!accepted.TryGetValue(alert, out var entry) || !sent.Add(alert) || entry.Index <= previous)
                {
                    throw new InvalidOperationException($"{alert.Id} was not accepted, is sent twice or is out of order");
                }

                previous = entry.Index;
            }

            if (notification.Reminder != notification.Alerts.All(a => accepted[a].Reminder))
            {
                throw new InvalidOperationException($"reminder {notification.Reminder} for [{string.Join(", ", notification.Alerts.Select(a => a.Id))}]");
            }
        }

        if (sent.Count != accepted.Count)
        {
            throw new InvalidOperationException($"{accepted.Count} alerts accepted, {sent.Count} notified");
        }
    }

    private static void CheckSpacing(IEnumerable<Alert> accepted, long repeatMs)
    {
        foreach (var group in accepted.GroupBy(a => (a.Rule, a.Symbol)))
        {
            var times = group.Select(a => a.Ts).Order().ToList();
            for (var i = 1; i < times.Count; i++)
            {
                if (times[i] - times[i - 1] < repeatMs)
                {
                    throw new InvalidOperationException($"{group.Key}: accepted at {times[i - 1]} and {times[i]}, less than {repeatMs} ms apart");
                }
            }
        }
    }

    private static string Print(NoisePolicyOptions options, AlertStep[] steps) =>
        string.Create(CultureInfo.InvariantCulture, $"repeat {options.RepeatInterval}, wait {options.GroupWait}, max {options.MaxGroupSize}\n")
        + string.Join('\n', steps.Select(s => s.ToString()));
}
