using Breadboard.Core.Model;

namespace Breadboard.Notify.Policy;

/// <summary>
/// One channel's noise control, after Alertmanager: silences, a repeat interval per (rule, symbol) and grouping per rule.
/// It shapes notifications only; every alert is still stored and streamed.
/// </summary>
/// <remarks>
/// Not thread-safe: the channel's dispatch loop owns it. The repeat interval is measured in alert event time
/// (<see cref="Alert.Ts"/>), so a replay of history is shaped as live was; group waits and silences follow the wall clock.
/// A (rule, symbol) is forgotten once its last notification is more than two repeat intervals older than the newest alert
/// seen: it can then no longer hold back an alert that is up to one interval late, and its next alert is news, not a
/// reminder. An alert later than that may be notified again.
/// </remarks>
public sealed class NoisePolicy
{
    private const char KeySeparator = '|';

    private readonly NoisePolicyOptions _options;
    private readonly TimeProvider _time;
    private readonly long _repeatMs;
    private readonly long _memoryMs;
    private readonly Dictionary<(string Rule, string Symbol), long> _lastAccepted = [];
    private readonly Dictionary<string, long> _acceptedIds = [];
    private readonly List<Group> _groups = [];
    private readonly Dictionary<string, Group> _openByRule = [];
    private long _newestTs = long.MinValue;
    private long _oldestRemembered = long.MaxValue;

    public NoisePolicy(string channel, NoisePolicyOptions options, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RepeatInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.GroupWait, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxGroupSize, 1);
        Channel = channel;
        _options = options;
        _time = time;
        _repeatMs = (long)options.RepeatInterval.TotalMilliseconds;
        _memoryMs = 2 * _repeatMs;
    }

    public string Channel { get; }

    /// <summary>When the earliest pending group is due (possibly already), or null when nothing is pending.</summary>
    public DateTimeOffset? NextDue
    {
        get
        {
            DateTimeOffset? next = null;
            foreach (var group in _groups)
            {
                var due = IsFull(group) ? group.StartedAt : group.StartedAt + _options.GroupWait;
                if (next is null || due < next)
                {
                    next = due;
                }
            }

            return next;
        }
    }

    /// <summary>
    /// The state to save across restarts: <c>{rule}|{symbol}</c> (see <see cref="StateKey"/>) to the event time (epoch ms)
    /// of its last accepted alert. Load it back with <see cref="Remember"/>.
    /// </summary>
    public IReadOnlyDictionary<string, long> LastAccepted
    {
        get
        {
            var state = new Dictionary<string, long>(_lastAccepted.Count, StringComparer.Ordinal);
            foreach (var ((rule, symbol), ts) in _lastAccepted)
            {
                state[StateKey(rule, symbol)] = ts;
            }

            return state;
        }
    }

    /// <summary>The key of <see cref="LastAccepted"/>: <c>{rule}|{symbol}</c>. Rule names have no '|' (lower case, digits, underscores).</summary>
    public static string StateKey(string rule, string symbol) => string.Concat(rule, "|", symbol);

    /// <summary>Splits a <see cref="StateKey"/> at its first '|'.</summary>
    public static bool TryParseStateKey(string key, out string rule, out string symbol)
    {
        ArgumentNullException.ThrowIfNull(key);
        var at = key.IndexOf(KeySeparator, StringComparison.Ordinal);
        rule = at > 0 ? key[..at] : "";
        symbol = at > 0 ? key[(at + 1)..] : "";
        return at > 0 && symbol.Length > 0;
    }

    /// <summary>Decides whether <paramref name="alert"/> is notified on this channel and, if so, adds it to its rule's pending group.</summary>
    /// <param name="silences">The silences to apply; the first active one that matches is reported.</param>
    public PolicyDecision Offer(Alert alert, IReadOnlyCollection<Silence> silences)
    {
        ArgumentNullException.ThrowIfNull(alert);
        ArgumentNullException.ThrowIfNull(silences);
        var now = _time.GetUtcNow();
        foreach (var silence in silences)
        {
            if (silence.Matches(alert, Channel, now))
            {
                // Before any state changes: lifting a silence must not leave the alert counted as notified.
                return new PolicyDecision(PolicyOutcome.Silenced, silence.Id);
            }
        }

        Observe(alert.Ts);
        if (_acceptedIds.ContainsKey(alert.Id))
        {
            return new PolicyDecision(PolicyOutcome.Duplicate);
        }

        var key = (alert.Rule, alert.Symbol);
        var seenBefore = _lastAccepted.TryGetValue(key, out var last);
        // A zero interval notifies every alert, an out-of-order one (older than the last accepted) too.
        if (seenBefore && _repeatMs > 0 && alert.Ts < last + _repeatMs)
        {
            return new PolicyDecision(PolicyOutcome.Repeat);
        }

        // Max: an out-of-order alert must not pull the remembered time back and so shorten the interval.
        _lastAccepted[key] = seenBefore ? Math.Max(last, alert.Ts) : alert.Ts;
        _acceptedIds[alert.Id] = alert.Ts;
        _oldestRemembered = Math.Min(_oldestRemembered, alert.Ts);
        Join(alert, reminder: seenBefore, now);
        return new PolicyDecision(PolicyOutcome.Accepted, Reminder: seenBefore);
    }

    /// <summary>
    /// Whether an alert of this event time is within the policy's memory, so <see cref="Offer"/> would recognise it
    /// had it been accepted before; older alerts are news to it.
    /// </summary>
    public bool Remembers(long ts) => _newestTs <= long.MinValue + _memoryMs || ts >= _newestTs - _memoryMs;

    /// <summary>Removes and returns the groups whose wait has passed or that are full, oldest first.</summary>
    public IReadOnlyList<Notification> TakeDue()
    {
        var now = _time.GetUtcNow();
        return Take(g => IsFull(g) || now >= g.StartedAt + _options.GroupWait);
    }

    /// <summary>Removes and returns every pending group, due or not: the flush at shutdown.</summary>
    public IReadOnlyList<Notification> TakeAll() => Take(_ => true);

    /// <summary>Loads one entry of a saved <see cref="LastAccepted"/>; an older time than the one held is ignored.</summary>
    public void Remember(string rule, string symbol, long ts)
    {
        ArgumentException.ThrowIfNullOrEmpty(rule);
        ArgumentException.ThrowIfNullOrEmpty(symbol);
        var key = (rule, symbol);
        _lastAccepted[key] = _lastAccepted.TryGetValue(key, out var last) ? Math.Max(last, ts) : ts;
        _oldestRemembered = Math.Min(_oldestRemembered, ts);
        Observe(ts);
    }

    private void Join(Alert alert, bool reminder, DateTimeOffset now)
    {
        if (!_openByRule.TryGetValue(alert.Rule, out var group))
        {
            group = new Group(alert.Rule, now);
            _groups.Add(group);
            _openByRule[alert.Rule] = group;
        }

        group.Alerts.Add(alert);
        group.AllReminders &= reminder;
        if (IsFull(group) || _options.GroupWait == TimeSpan.Zero)
        {
            // Closed: the rule's next alert starts a new group rather than overfilling this one,
            // and without a group wait every alert is a notification of its own.
            _openByRule.Remove(alert.Rule);
        }
    }

    private List<Notification> Take(Func<Group, bool> due)
    {
        var taken = new List<Notification>();
        _groups.RemoveAll(group =>
        {
            if (!due(group))
            {
                return false;
            }

            taken.Add(new Notification(Channel, group.Alerts, group.AllReminders));
            if (_openByRule.TryGetValue(group.Rule, out var open) && ReferenceEquals(open, group))
            {
                _openByRule.Remove(group.Rule);
            }

            return true;
        });
        return taken;
    }

    private bool IsFull(Group group) => group.Alerts.Count >= _options.MaxGroupSize;

    /// <summary>Advances the newest event time seen and forgets what fell behind the memory horizon.</summary>
    private void Observe(long ts)
    {
        _newestTs = Math.Max(_newestTs, ts);
        var horizon = _newestTs > long.MinValue + _memoryMs ? _newestTs - _memoryMs : long.MinValue;
        if (horizon <= _oldestRemembered)
        {
            return;
        }

        // Only when something can go: the scan costs the size of the state, not one pass per alert.
        _oldestRemembered = long.MaxValue;
        foreach (var (key, at) in _lastAccepted)
        {
            if (at < horizon)
            {
                _lastAccepted.Remove(key);
            }
            else
            {
                _oldestRemembered = Math.Min(_oldestRemembered, at);
            }
        }

        foreach (var (id, at) in _acceptedIds)
        {
            if (at < horizon)
            {
                _acceptedIds.Remove(id);
            }
            else
            {
                _oldestRemembered = Math.Min(_oldestRemembered, at);
            }
        }
    }

    private sealed class Group(string rule, DateTimeOffset startedAt)
    {
        public string Rule { get; } = rule;

        /// <summary>Wall-clock time its first alert joined: the group wait runs from here.</summary>
        public DateTimeOffset StartedAt { get; } = startedAt;

        public List<Alert> Alerts { get; } = [];

        public bool AllReminders { get; set; } = true;
    }
}
