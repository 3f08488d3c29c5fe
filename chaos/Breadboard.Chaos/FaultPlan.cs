using System.Globalization;

namespace Breadboard.Chaos;

/// <summary>What can go wrong, and when it does in a run: drawn from the seed, so a run can be repeated.</summary>
internal static class FaultPlan
{
    /// <summary>One fault: at <see cref="At"/> into the run, of a kind, lasting <see cref="For"/> (a kill's time down, a pause's length).</summary>
    public sealed record Fault(TimeSpan At, FaultKind Kind, TimeSpan For)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{At.TotalSeconds,6:F1} s  {Kind.Name,-22} for {For.TotalSeconds:F1} s");
    }

    /// <summary>A kind of fault and its target.</summary>
    public sealed record FaultKind(string Name, double MinSeconds, double MaxSeconds);

    /// <param name="sessionTimeout">A processor is paused past it, so the group moves its partitions.</param>
    /// <param name="replicated">ClickHouse is three replicas with ZooKeeper (a replica or ZooKeeper is killed), not one server.</param>
    public static IReadOnlyList<FaultKind> Kinds(TimeSpan sessionTimeout, bool replicated = true) =>
    [
        new("kill ingest", 0.5, 3),
        new("kill process-a", 0.5, 3),
        new("kill process-b", 0.5, 3),
        new("kill notify", 0.5, 3),
        new("kill api", 0.5, 3),
        new("pause process-a", sessionTimeout.TotalSeconds + 2, sessionTimeout.TotalSeconds + 6),
        new("pause process-b", sessionTimeout.TotalSeconds + 2, sessionTimeout.TotalSeconds + 6),
        new("kill nats-server", 1, 5),
        .. ChaosClickHouse.FaultKinds(replicated),
        new("broker down", 2, 8),
        new("webhook answers 500", 3, 20),
        new("webhook hangs", 3, 20),
    ];

    /// <summary>
    /// Faults from 10 s into the run until 15 s before its end, one starting every 6–14 s (closer when the run is too
    /// short for every kind at that pace): every kind once in a random order, then random kinds while time is left.
    /// </summary>
    public static List<Fault> Draw(TimeSpan duration, TimeSpan sessionTimeout, int seed, bool replicated = true)
    {
        var random = new Random(seed);
        var kinds = Kinds(sessionTimeout, replicated);
        var order = kinds.OrderBy(_ => random.Next()).ToList();
        var faults = new List<Fault>();
        var at = TimeSpan.FromSeconds(10);
        var last = duration - TimeSpan.FromSeconds(15);

        // Closer together in a short run, so that every kind still lands once (a 2-minute run: every ~8 s).
        var fitAll = (last - at).TotalSeconds / kinds.Count;
        for (var i = 0; at < last; i++)
        {
            var kind = i < order.Count ? order[i] : kinds[random.Next(kinds.Count)];
            var length = TimeSpan.FromSeconds(kind.MinSeconds + (random.NextDouble() * (kind.MaxSeconds - kind.MinSeconds)));
            faults.Add(new Fault(at, kind, length));
            var gap = 6 + (random.NextDouble() * 8);
            at += TimeSpan.FromSeconds(i < order.Count - 1 ? Math.Min(gap, fitAll) : gap);
        }

        return faults;
    }
}
