using System.Globalization;
using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Rules;
using Breadboard.Core.Pipeline.Windows;
using Breadboard.Core.Tests.Engine;

namespace Breadboard.Core.Tests.Pipeline;

/// <summary>
/// A rule type written for this test alone, in this file alone: <c>close_above</c> fires when a bar closes at or
/// above <c>price</c>. Registered with <see cref="RuleKinds.With"/>, it is read, run, worded and written back like
/// the shipped kinds, which are registered the same way (<see cref="RuleKinds.Builtin"/>).
/// </summary>
public sealed class CloseAboveRule : RuleKind
{
    private CloseAboveRule()
        : base("close_above", "CloseAbove")
    {
    }

    public static CloseAboveRule Instance { get; } = new();

    public override IReadOnlyList<string> Fields { get; } = ["price"];

    public override string Unit(RuleDefinition rule) => "number";

    public override RuleDefinition Parse(PipelineMapping mapping, string name, string window)
    {
        var price = mapping.Number("price");
        if (price <= 0)
        {
            mapping.Error("price", "must be greater than 0");
        }

        if (!mapping.Emits(Aggregate.Close))
        {
            mapping.Error(null, "a close_above rule needs the close aggregate");
        }

        return new RuleDefinition(name, this, window, ComparisonOp.GreaterOrEqual, price, 0);
    }

    public override IEnumerable<(string Field, string Value)> YamlFields(RuleDefinition rule)
    {
        yield return ("price", PipelineMapping.FormatNumber(rule.Threshold));
    }

    public override bool Evaluate(RuleDefinition rule, Bar bar, ReadOnlySpan<double> indicators, ref RuleState? state, out double value, out double threshold)
    {
        value = bar.Close;
        threshold = rule.Threshold;
        return Meets(rule, value);
    }

    public override string FormatValue(RuleDefinition rule, double value, bool withUnit) => value.ToString("0.00", CultureInfo.InvariantCulture);

    public override string? SqlRefusal(RuleDefinition rule) => null;

    public override RuleSql ToSql(RuleDefinition rule, string bars) => new(
        $"close >= {PipelineMapping.FormatNumber(rule.Threshold)}",
        $"SELECT `symbol`, `window_start`, `window_end`, `close` AS `value`\nFROM {bars}",
        $">= {PipelineMapping.FormatNumber(rule.Threshold)}");
}

public class CloseAboveRuleTests
{
    private const string Yaml = """
        out_of_orderness: 0s
        windows: [{ name: "1m", type: tumbling, size: 1m }]
        rules:
          - { name: breakout, window: "1m", type: close_above, price: 105.5 }
        """;

    private static readonly RuleKinds Kinds = RuleKinds.Builtin.With(CloseAboveRule.Instance);

    private static PipelineDefinition Load(string yaml) => PipelineLoader.Parse(yaml, "p.yaml", Kinds, WindowKinds.Builtin);

    [Fact]
    public void Parse_WithTheKindRegistered_ReadsTheRule()
    {
        var rule = Assert.Single(Load(Yaml).Rules);

        Assert.Same(CloseAboveRule.Instance, rule.Kind);
        Assert.Equal(new RuleDefinition("breakout", CloseAboveRule.Instance, "1m", ComparisonOp.GreaterOrEqual, 105.5, 0), rule);
    }

    [Fact]
    public void Parse_WithoutTheKindRegistered_NamesItAsUnknown()
    {
        var error = Assert.Single(Assert.Throws<PipelineConfigException>(() => PipelineLoader.Parse(Yaml, "p.yaml")).Errors);

        Assert.Equal("p.yaml: rules[0].type: must be price_change, volume_surge or expression (got 'close_above')", error);
    }

    [Fact]
    public void Parse_WithBadFields_ReportsThemWithTheirPaths()
    {
        var errors = Assert.Throws<PipelineConfigException>(() => Load(Yaml.Replace("price: 105.5", "price: -1, op: \">=\"", StringComparison.Ordinal))).Errors;

        Assert.Equal(
            [
                "p.yaml: rules[0].op: unknown field; allowed here: name, type, window, price",
                "p.yaml: rules[0].price: must be greater than 0",
            ],
            errors);
    }

    [Fact]
    public void Engine_FiresOnBarsClosingAtOrAboveThePrice()
    {
        var definition = Load(Yaml);
        var (engine, output) = Kit.NewEngine(definition);

        engine.Process(Kit.Tick("AAPL", Kit.T0, 100));
        engine.Process(Kit.Tick("AAPL", Kit.T0 + 30 * Kit.Second, 105.5));
        engine.Process(Kit.Tick("AAPL", Kit.T0 + Kit.Minute, 106));
        engine.Process(Kit.Tick("AAPL", Kit.T0 + Kit.Minute + Kit.Second, 105.49));
        engine.CloseAll();

        var alert = Assert.Single(output.Alerts);
        Assert.Equal(new Alert(Alert.MakeId("breakout", "AAPL", "1m", Kit.T0), "breakout", "AAPL", "1m", Kit.T0, Kit.T0 + Kit.Minute, 105.5, 105.5, Kit.T0 + Kit.Minute, definition.Digest()), alert);
    }

    [Fact]
    public void Engine_RestoredFromACheckpoint_GivesTheSameAlerts()
    {
        var definition = Load(Yaml);
        var (engine, _) = Kit.NewEngine(definition);
        engine.Process(Kit.Tick("AAPL", Kit.T0, 106));
        using var checkpoint = new MemoryStream();
        engine.Save(checkpoint);
        checkpoint.Position = 0;

        var output = new CollectingOutput();
        var restored = WindowEngine.Restore(definition, output, checkpoint);
        restored.CloseAll();

        Assert.Equal(106, Assert.Single(output.Alerts).Value);
    }

    [Fact]
    public void ToYaml_WritesItsFieldsAndReadsBackEqual()
    {
        var definition = Load(Yaml);

        var yaml = PipelineLoader.ToYaml(definition);
        var back = Load(yaml);

        Assert.Contains("    type: close_above\n    price: 105.5\n", yaml, StringComparison.Ordinal);
        Assert.Equal(definition.Rules, back.Rules);
        Assert.Equal(definition.Fingerprint(), back.Fingerprint());
        Assert.EndsWith(";rule=breakout,CloseAbove,1m,GreaterOrEqual,105.5,0", definition.Fingerprint(), StringComparison.Ordinal);
    }

    [Fact]
    public void Labels_ComeFromTheKind()
    {
        var rule = Assert.Single(Load(Yaml).Rules);

        Assert.Equal("close_above", rule.Kind.Name);
        Assert.Equal("number", rule.Kind.Unit(rule));
        Assert.Equal("105.50", rule.Kind.FormatValue(rule, 105.5, withUnit: true));
        Assert.Equal(">= 105.5", rule.Kind.ToSql(rule, "bars_0").Condition);
    }
}
