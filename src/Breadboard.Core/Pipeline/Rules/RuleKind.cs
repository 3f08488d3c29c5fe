using System.Globalization;
using Breadboard.Core.Model;

namespace Breadboard.Core.Pipeline.Rules;

/// <summary>
/// One type of alert rule (price_change, volume_surge): everything Breadboard knows about it, in one class. The
/// loader, the YAML writer, the fingerprint, the engine, its checkpoint, the Flink compiler, the dashboard and the
/// notifications all ask the kind.
/// </summary>
/// <remarks>
/// A new rule type is one subclass plus one line in <see cref="RuleKinds.Builtin"/> (or <see cref="RuleKinds.With"/>
/// for a registry of one's own). <see cref="Evaluate"/> runs once per closed bar per rule on the engine's hot path:
/// it must not allocate except when it creates the symbol's state the first time.
/// </remarks>
public abstract class RuleKind
{
    /// <param name="name">The <c>type</c> in the pipeline file, the pipeline's JSON and the dashboard: <c>price_change</c>.</param>
    /// <param name="fingerprintName">The name in <see cref="PipelineDefinition.Fingerprint"/>: frozen, since checkpoints carry it.</param>
    protected RuleKind(string name, string fingerprintName)
    {
        Name = name;
        FingerprintName = fingerprintName;
    }

    public static PriceChangeRule PriceChange => PriceChangeRule.Instance;

    public static VolumeSurgeRule VolumeSurge => VolumeSurgeRule.Instance;

    /// <summary>The <c>type</c> in the pipeline file, the pipeline's JSON and the dashboard.</summary>
    public string Name { get; }

    /// <summary>The kind's name in the fingerprint; never change it for an existing kind.</summary>
    public string FingerprintName { get; }

    /// <summary>The fields of the pipeline file's mapping beyond <c>name</c>, <c>type</c> and <c>window</c>.</summary>
    public abstract IReadOnlyList<string> Fields { get; }

    /// <summary>What the dashboard shows the rule's values in: <c>percent</c>, <c>factor</c> (a multiple), <c>price</c>, <c>number</c>…</summary>
    public abstract string Unit(RuleDefinition rule);

    /// <summary>Reads a rule of this kind; problems go to <paramref name="mapping"/> and still give a definition.</summary>
    public abstract RuleDefinition Parse(PipelineMapping mapping, string name, string window);

    /// <summary>The fields after <c>type</c> that <see cref="PipelineLoader.ToYaml"/> writes, each as its YAML text.</summary>
    public abstract IEnumerable<(string Field, string Value)> YamlFields(RuleDefinition rule);

    /// <summary>The rule's part of <see cref="PipelineDefinition.Fingerprint"/>; must stay byte-identical for existing definitions.</summary>
    public virtual string Fingerprint(RuleDefinition rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return string.Create(CultureInfo.InvariantCulture, $"{rule.Name},{FingerprintName},{rule.Window},{rule.Op},{rule.Threshold:R},{rule.Lookback}");
    }

    /// <summary>
    /// Evaluates the rule on a closed bar of its window for the bar's symbol: true when it fires, with the value it
    /// measured and the threshold it compared it with (the alert's <c>value</c> and <c>threshold</c>).
    /// </summary>
    /// <param name="indicators">The symbol's indicator values after this bar, per slot of the pipeline's indicator layout.</param>
    /// <param name="state">The symbol's state for this rule, null until the kind first creates it.</param>
    public abstract bool Evaluate(RuleDefinition rule, Bar bar, ReadOnlySpan<double> indicators, ref RuleState? state, out double value, out double threshold);

    /// <summary>
    /// Past bars of its window the rule looks at besides the current one (a volume surge's lookback), not counting
    /// what its indicators need: with fewer, it may fire differently than after a long run. A backtest's warm-up
    /// reads this many.
    /// </summary>
    public virtual long HistoryBars(RuleDefinition rule) => rule?.Lookback ?? 0;

    /// <summary>
    /// Whether a symbol's state under <paramref name="running"/> means the same under <paramref name="proposed"/>, a
    /// changed definition of the same rule (a live reload): then it is kept, otherwise the rule starts afresh. The
    /// default keeps it only when nothing changed.
    /// </summary>
    public virtual bool KeepsState(RuleDefinition running, RuleDefinition proposed)
    {
        ArgumentNullException.ThrowIfNull(running);
        ArgumentNullException.ThrowIfNull(proposed);
        return running.Kind == proposed.Kind && running.Kind.Fingerprint(running) == proposed.Kind.Fingerprint(proposed);
    }

    /// <summary>Writes the symbol's state for a checkpoint; the default (stateless kinds) writes -1.</summary>
    public virtual void WriteState(BinaryWriter writer, RuleState? state)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(-1);
    }

    /// <summary>Reads what <see cref="WriteState"/> wrote.</summary>
    /// <exception cref="InvalidDataException">The bytes are not such a state.</exception>
    public virtual RuleState? ReadState(BinaryReader reader, RuleDefinition rule)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var marker = reader.ReadInt32();
        return marker == -1 ? null : throw new InvalidDataException($"a {Name} rule keeps no state, but the checkpoint has {marker}");
    }

    /// <summary>A value or threshold of this rule for people: <c>−5.2%</c>, <c>6.3× mean volume</c>.</summary>
    /// <param name="withUnit">False for a threshold shown beside its value, where the short unit reads better.</param>
    public abstract string FormatValue(RuleDefinition rule, double value, bool withUnit);

    /// <summary>What the rule tests, for people (notifications, the dashboard's rules panel): <c>price_change &lt;= −5.0%</c>.</summary>
    public virtual string Describe(RuleDefinition rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return $"{Name} {(rule.Op == ComparisonOp.LessOrEqual ? "<=" : ">=")} {FormatValue(rule, rule.Threshold, withUnit: false)}";
    }

    /// <summary>Why Flink SQL cannot compute the rule exactly as the local engine does; null when it can.</summary>
    /// <remarks>The indicators it reads (<see cref="IndicatorValues"/>) are the Flink compiler's to check, each by its own kind.</remarks>
    public abstract string? SqlRefusal(RuleDefinition rule);

    /// <summary>
    /// The rule as SQL over the bars of its window (a view named <paramref name="bars"/>), which also has a column
    /// per indicator value the rule reads (<see cref="SqlText.Indicator"/>).
    /// </summary>
    public abstract RuleSql ToSql(RuleDefinition rule, string bars);

    /// <summary>The indicator values the rule reads (<c>sma_fast</c>, <c>bb.upper</c>), in the order it first names them.</summary>
    public virtual IReadOnlyList<string> IndicatorValues(RuleDefinition rule) => [];

    /// <summary>Whether <paramref name="value"/> meets the rule's threshold under its <see cref="ComparisonOp"/>.</summary>
    protected static bool Meets(RuleDefinition rule, double value)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return rule.Op == ComparisonOp.LessOrEqual ? value <= rule.Threshold : value >= rule.Threshold;
    }

    public override string ToString() => FingerprintName;
}

/// <summary>What a rule keeps per symbol between bars (e.g. the previous bars' volumes); the kind defines it.</summary>
public abstract class RuleState
{
}

/// <summary>A rule as SQL: the query giving <c>symbol, window_start, window_end, value</c> per bar, and the condition on <c>value</c>.</summary>
/// <param name="Description">The comment after the rule's name and window, e.g. <c>(close - open) / open * 100 &lt;= -5</c>.</param>
/// <param name="Values">A SELECT over the bars view giving <c>symbol, window_start, window_end, value</c> (and <c>threshold</c>, see <see cref="Threshold"/>).</param>
/// <param name="Condition">What <c>value</c> must satisfy, e.g. <c>&lt;= -5</c>; null when <paramref name="Values"/> gives only the bars on which the rule fires.</param>
public readonly record struct RuleSql(string Description, string Values, string? Condition)
{
    /// <summary>The alert's threshold as SQL over the columns of <see cref="Values"/> (<c>`threshold`</c>); null for the rule's <see cref="RuleDefinition.Threshold"/>.</summary>
    public string? Threshold { get; init; }
}

/// <summary>A kind's own settings of one rule (<see cref="RuleDefinition.Settings"/>); a record, so that definitions compare by value.</summary>
public abstract record RuleSettings;
