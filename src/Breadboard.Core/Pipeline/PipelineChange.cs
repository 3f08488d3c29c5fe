using System.Globalization;

namespace Breadboard.Core.Pipeline;

/// <summary>
/// A running pipeline definition replaced by a new one without a restart (a live reload, or a checkpoint restored
/// under an edited file): which rules and indicators keep their state, and which start afresh.
/// </summary>
/// <remarks>
/// <para>Only rules and indicators may change. Windows, aggregates, the watermark's out-of-orderness, the dedup
/// horizon and the future guard shape the open windows and the trade ids remembered; changing them under a
/// running engine would give bars no run from the start gives, so <see cref="Refusal"/> names the one that changed.</para>
/// <para>An indicator keeps its state when its own definition is unchanged and so is what it is computed over
/// (an indicator of a changed indicator starts afresh). A rule keeps its state (a volume surge's past volumes, an
/// expression's past values and its <c>for</c> count) when its kind says the state still means the same
/// (<see cref="Rules.RuleKind.KeepsState"/>: a volume surge with a new factor keeps its volumes; an expression only
/// when unchanged) and every indicator it reads kept its state. Everything else starts from the next bar that
/// closes, as on a fresh start.</para>
/// </remarks>
public sealed class PipelineChange
{
    private PipelineChange(int[] ruleFrom, int[] indicatorFrom, IReadOnlyList<string> changes)
    {
        RuleFrom = ruleFrom;
        IndicatorFrom = indicatorFrom;
        Changes = changes;
    }

    /// <summary>Per rule of the new definition: the index of the running rule whose state it keeps, or −1.</summary>
    public IReadOnlyList<int> RuleFrom { get; }

    /// <summary>Per indicator of the new definition: the index of the running indicator whose state it keeps, or −1.</summary>
    public IReadOnlyList<int> IndicatorFrom { get; }

    /// <summary>What changed, one short phrase each (<c>rule 'dip' changed</c>, <c>indicator 'rsi' added</c>); empty when nothing did.</summary>
    public IReadOnlyList<string> Changes { get; }

    /// <summary>Why <paramref name="next"/> cannot replace <paramref name="running"/> while it runs, in one line naming the field; null when it can.</summary>
    public static string? Refusal(PipelineDefinition running, PipelineDefinition next)
    {
        ArgumentNullException.ThrowIfNull(running);
        ArgumentNullException.ThrowIfNull(next);
        if (running.OutOfOrdernessMs != next.OutOfOrdernessMs)
        {
            return Field("out_of_orderness", DurationText.Format(running.OutOfOrdernessMs), DurationText.Format(next.OutOfOrdernessMs));
        }

        if (running.DedupHorizonMs != next.DedupHorizonMs)
        {
            return Field("dedup_horizon", DurationText.Format(running.DedupHorizonMs), DurationText.Format(next.DedupHorizonMs));
        }

        var windows = Windows(running);
        if (windows != Windows(next))
        {
            return Field("windows", windows, Windows(next));
        }

        var aggregates = Aggregates(running);
        if (aggregates != Aggregates(next))
        {
            return Field("aggregates", aggregates, Aggregates(next));
        }

        if (running.Future != next.Future)
        {
            return Field("future", Future(running.Future), Future(next.Future));
        }

        return null;
    }

    /// <summary>What carries over from <paramref name="running"/> to <paramref name="next"/>.</summary>
    /// <exception cref="ArgumentException">The change is refused (<see cref="Refusal"/>).</exception>
    public static PipelineChange Between(PipelineDefinition running, PipelineDefinition next)
    {
        if (Refusal(running, next) is { } refusal)
        {
            throw new ArgumentException(refusal, nameof(next));
        }

        var changes = new List<string>();
        var oldIndicators = running.Indicators;
        var newIndicators = next.Indicators;
        var indicatorFrom = new int[newIndicators.Count];
        var kept = new HashSet<string>(StringComparer.Ordinal); // names of new indicators that keep their state
        for (var i = 0; i < newIndicators.Count; i++)
        {
            var indicator = newIndicators[i];
            var j = IndexOf(oldIndicators, indicator.Name);
            var same = j >= 0
                && oldIndicators[j].Kind.Fingerprint(oldIndicators[j]) == indicator.Kind.Fingerprint(indicator)
                && (indicator.Of is not { } of || !next.IndicatorLayout.TryFind(of, out var slot) || kept.Contains(next.IndicatorLayout.OwnerOf(slot).Name));
            indicatorFrom[i] = same ? j : -1;
            if (same)
            {
                kept.Add(indicator.Name);
            }
            else
            {
                changes.Add(j >= 0 ? $"indicator '{indicator.Name}' changed" : $"indicator '{indicator.Name}' added");
            }
        }

        changes.AddRange(oldIndicators.Where(o => IndexOf(newIndicators, o.Name) < 0).Select(o => $"indicator '{o.Name}' removed"));

        var oldRules = running.Rules;
        var newRules = next.Rules;
        var ruleFrom = new int[newRules.Count];
        for (var r = 0; r < newRules.Count; r++)
        {
            var rule = newRules[r];
            var j = -1;
            for (var k = 0; k < oldRules.Count; k++)
            {
                if (oldRules[k].Name == rule.Name)
                {
                    j = k;
                    break;
                }
            }

            var keeps = j >= 0
                && rule.Kind.KeepsState(oldRules[j], rule)
                && rule.Kind.IndicatorValues(rule).All(v => !next.IndicatorLayout.TryFind(v, out var slot) || kept.Contains(next.IndicatorLayout.OwnerOf(slot).Name));
            ruleFrom[r] = keeps ? j : -1;
            if (j < 0)
            {
                changes.Add($"rule '{rule.Name}' added");
            }
            else if (oldRules[j].Kind.Fingerprint(oldRules[j]) != rule.Kind.Fingerprint(rule))
            {
                changes.Add(keeps ? $"rule '{rule.Name}' changed" : $"rule '{rule.Name}' changed (starts afresh)");
            }
        }

        changes.AddRange(oldRules.Where(o => !newRules.Any(n => n.Name == o.Name)).Select(o => $"rule '{o.Name}' removed"));
        return new PipelineChange(ruleFrom, indicatorFrom, changes);
    }

    private static int IndexOf(IReadOnlyList<Indicators.IndicatorDefinition> indicators, string name)
    {
        for (var i = 0; i < indicators.Count; i++)
        {
            if (indicators[i].Name == name)
            {
                return i;
            }
        }

        return -1;
    }

    private static string Windows(PipelineDefinition definition) => string.Join("; ", definition.Windows.Select(w => w.Kind.Fingerprint(w)));

    private static string Aggregates(PipelineDefinition definition) => string.Join(", ", definition.Aggregates.Order());

    private static string Future(FutureGuard f) =>
        string.Create(CultureInfo.InvariantCulture, $"clock_skew {DurationText.Format(f.ClockSkewMs)}, max_jump {DurationText.Format(f.MaxJumpMs)}, confirm {f.Confirm}");

    private static string Field(string field, string running, string next) =>
        $"'{field}' cannot change while the pipeline runs (running: {running}; new: {next}); only rules and indicators reload, restart to change it";
}
