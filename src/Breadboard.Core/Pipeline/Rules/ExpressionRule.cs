using System.Globalization;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline.Expressions;
using Breadboard.Core.Pipeline.Indicators;

namespace Breadboard.Core.Pipeline.Rules;

/// <summary>
/// A rule written as a condition: <c>when: "crosses_above(sma_fast, sma_slow)"</c>, optionally <c>for: 3</c>. The
/// pipeline file gives no <c>type</c> for it (or <c>type: expression</c>). docs/RULES.md defines the language.
/// </summary>
/// <remarks>
/// Fires on the bar where the condition has held on <c>for</c> consecutive bars of the symbol's window (bars that
/// exist), once per unbroken run; a bar where it does not hold re-arms it. The alert's value and threshold are the
/// operands of the expression's first comparison or crossing on that bar.
/// </remarks>
public sealed class ExpressionRule : RuleKind
{
    /// <summary>Most consecutive bars a <c>for</c> may ask for.</summary>
    public const int MaxFor = 10_000;

    private ExpressionRule()
        : base("expression", "Expression")
    {
    }

    public static ExpressionRule Instance { get; } = new();

    public override IReadOnlyList<string> Fields { get; } = ["when", "for"];

    /// <summary>A rule of this kind over <paramref name="indicators"/>, for code that builds definitions itself.</summary>
    /// <exception cref="ArgumentException">The expression has problems, or <paramref name="forBars"/> is out of range.</exception>
    public static RuleDefinition Define(string name, string window, string when, int forBars, IReadOnlyList<IndicatorDefinition> indicators, IReadOnlyList<Aggregate>? aggregates = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(forBars, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(forBars, MaxFor);
        var program = ExpressionCompiler.Compile(when, new IndicatorLayout(indicators), window, aggregates ?? Enum.GetValues<Aggregate>());
        return Create(name, window, program, forBars);
    }

    public static ExpressionSettings SettingsOf(RuleDefinition rule) =>
        rule?.Settings as ExpressionSettings ?? throw new ArgumentException($"rule '{rule?.Name}' is not an expression rule", nameof(rule));

    public override RuleDefinition Parse(PipelineMapping mapping, string name, string window)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        var forBars = 1;
        if (mapping.Has("for"))
        {
            var value = mapping.Number("for"); // reports a missing or non-number value itself
            if ((value is < 1 or > MaxFor || value % 1 != 0) && IsNumber(mapping.Text("for")))
            {
                mapping.Error("for", $"must be a whole number of bars from 1 to {MaxFor} (got '{PipelineMapping.Quote(mapping.Text("for"))}')");
            }
            else
            {
                forBars = (int)value;
            }
        }

        var when = mapping.Text("when");
        ExpressionProgram? program = null;
        if (string.IsNullOrWhiteSpace(when))
        {
            mapping.Error("when", $"{(when is null && mapping.Has("when") ? "must be text, not a list or mapping" : "is required")}: a condition such as \"rsi14 > 70\"");
        }
        else
        {
            program = ExpressionCompiler.Compile(
                when,
                mapping.Indicators,
                mapping.WindowInError ? null : window,
                mapping.Aggregates,
                (column, message) => mapping.Error("when", $"column {column}: {message}"),
                mapping.IndicatorsInError);
        }

        return program is null
            ? new RuleDefinition(name, this, window, ComparisonOp.GreaterOrEqual, 0, 0)
            : Create(name, window, program, forBars);
    }

    private static bool IsNumber(string? text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value);

    private static RuleDefinition Create(string name, string window, ExpressionProgram program, int forBars) =>
        new(name, Instance, window, ComparisonOp.GreaterOrEqual, 0, 0) { Settings = new ExpressionSettings(program, forBars) };

    public override IEnumerable<(string Field, string Value)> YamlFields(RuleDefinition rule)
    {
        var settings = SettingsOf(rule);
        yield return ("when", Quoted(settings.When));
        if (settings.For != 1)
        {
            yield return ("for", settings.For.ToString(CultureInfo.InvariantCulture));
        }
    }

    // A YAML double-quoted scalar: \ and " escaped, and line breaks and other control characters (whitespace in
    // an expression) as \xNN, so that YAML does not fold them and the text reads back byte for byte.
    private static string Quoted(string text)
    {
        var sb = new System.Text.StringBuilder(text.Length + 2).Append('"');
        foreach (var c in text)
        {
            _ = c switch
            {
                '\\' or '"' => sb.Append('\\').Append(c),
                < ' ' or '\u007f' => sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}"),
                _ => sb.Append(c),
            };
        }

        return sb.Append('"').ToString();
    }

    public override string Fingerprint(RuleDefinition rule)
    {
        var settings = SettingsOf(rule);
        return string.Create(CultureInfo.InvariantCulture, $"{rule.Name},{FingerprintName},{rule.Window},{settings.For},{settings.When}");
    }

    public override bool Evaluate(RuleDefinition rule, Bar bar, ReadOnlySpan<double> indicators, ref RuleState? state, out double value, out double threshold)
    {
        var settings = SettingsOf(rule);
        var program = settings.Program;
        var expression = (ExpressionState)(state ??= new ExpressionState(program));
        if (!program.Evaluate(bar, indicators, expression, out value, out threshold))
        {
            expression.Run = 0;
            return false;
        }

        if (expression.Run >= settings.For)
        {
            return false; // still the same run: it fired already
        }

        expression.Run++;
        return expression.Run == settings.For;
    }

    // The run, then each ring's count and values oldest first; -1 for a symbol with no bar of the window yet.
    /// <summary>Its past values (<c>prev</c>, <c>change_pct</c>, crossings), and the bars a <c>for</c> counts.</summary>
    public override long HistoryBars(RuleDefinition rule) => SettingsOf(rule).Program.History + (long)SettingsOf(rule).For;

    public override void WriteState(BinaryWriter writer, RuleState? state)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (state is not ExpressionState expression)
        {
            writer.Write(-1);
            return;
        }

        writer.Write(expression.Run);
        var program = expression.Program;
        writer.Write(program.Rings);
        for (var ring = 0; ring < program.Rings; ring++)
        {
            var values = program.RingValues(expression, ring).ToList();
            writer.Write(values.Count);
            foreach (var v in values)
            {
                writer.Write(v);
            }
        }
    }

    public override RuleState? ReadState(BinaryReader reader, RuleDefinition rule)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var settings = SettingsOf(rule);
        var run = reader.ReadInt32();
        if (run < 0)
        {
            return null;
        }

        var program = settings.Program;
        var state = new ExpressionState(program) { Run = Math.Min(run, settings.For) };
        var rings = reader.ReadInt32();
        if (rings != program.Rings)
        {
            throw new InvalidDataException($"rule '{rule.Name}' keeps {program.Rings} histories, but the checkpoint has {rings}");
        }

        for (var ring = 0; ring < rings; ring++)
        {
            var count = reader.ReadInt32();
            if (count < 0 || count > program.RingCapacity(ring))
            {
                throw new InvalidDataException($"rule '{rule.Name}': a history of {count} values, where 0 to {program.RingCapacity(ring)} fit");
            }

            var values = new double[count];
            for (var k = 0; k < count; k++)
            {
                values[k] = reader.ReadDouble();
            }

            program.Restore(state, ring, values);
        }

        return state;
    }

    public override string Unit(RuleDefinition rule) => ValueUnits.Name(SettingsOf(rule).Program.First.Unit);

    public override string FormatValue(RuleDefinition rule, double value, bool withUnit) =>
        ValueUnits.Format(SettingsOf(rule).Program.First.Unit, value, withUnit);

    public override string Describe(RuleDefinition rule)
    {
        var settings = SettingsOf(rule);
        return settings.For == 1 ? settings.When : string.Create(CultureInfo.InvariantCulture, $"{settings.When} for {settings.For} bars");
    }

    /// <summary>None: the language compiles exactly (<see cref="ExpressionSql"/>); the indicators it reads are refused by their own kinds.</summary>
    public override string? SqlRefusal(RuleDefinition rule) => null;

    /// <remarks>
    /// The SELECT gives only the bars on which the rule fires, with the first comparison's operands as
    /// <c>value</c> and <c>threshold</c> (NULL where undefined).
    /// </remarks>
    public override RuleSql ToSql(RuleDefinition rule, string bars) =>
        ExpressionSql.Compile(SettingsOf(rule), bars, Describe(rule) ?? "");

    public override IReadOnlyList<string> IndicatorValues(RuleDefinition rule) => ExpressionSql.IndicatorValues(SettingsOf(rule).When);
}

/// <summary>An expression rule's settings: the compiled <c>when</c> and its <c>for</c>. Equal when the texts and <c>for</c> are.</summary>
public sealed record ExpressionSettings(ExpressionProgram Program, int For) : RuleSettings
{
    public string When => Program.Text;

    public bool Equals(ExpressionSettings? other) => other is not null && other.When == When && other.For == For;

    public override int GetHashCode() => HashCode.Combine(When, For);
}
