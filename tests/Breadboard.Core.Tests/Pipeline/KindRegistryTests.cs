using Breadboard.Core.Pipeline;
using Breadboard.Core.Pipeline.Rules;
using Breadboard.Core.Pipeline.Windows;

namespace Breadboard.Core.Tests.Pipeline;

/// <summary>Every registered window and rule kind round-trips; unknown kinds are errors that name them.</summary>
public class KindRegistryTests
{
    // One example per registered kind: a kind registered without one fails Examples_CoverEveryRegisteredKind.
    private static readonly Dictionary<WindowKind, WindowDefinition> WindowExamples = new()
    {
        [WindowKind.Tumbling] = WindowDefinition.Tumbling("t", 90_000),
        [WindowKind.Hopping] = WindowDefinition.Hopping("h", 7_200_000, 1_800_000),
        [WindowKind.Session] = WindowDefinition.Session("s", 1_250),
    };

    private static readonly Dictionary<RuleKind, RuleDefinition> RuleExamples = new()
    {
        [RuleKind.PriceChange] = RuleDefinition.PriceChange("drop", "t", ComparisonOp.LessOrEqual, -1e-7),
        [RuleKind.VolumeSurge] = RuleDefinition.VolumeSurge("surge", "h", 2.5e-3, 7),
        [ExpressionRule.Instance] = ExpressionRule.Define("rise", "t", "change_pct(close, 2) > 1.5e-3 and not (high == low)", 4, []),
    };

    public static TheoryData<string> WindowKindNames => [.. WindowKinds.Builtin.All.Select(k => k.Name)];

    public static TheoryData<string> RuleKindNames => [.. RuleKinds.Builtin.All.Select(k => k.Name)];

    private static PipelineDefinition With(IReadOnlyList<WindowDefinition> windows, IReadOnlyList<RuleDefinition> rules) =>
        PipelineDefinition.Default with { Windows = windows, Rules = rules };

    [Fact]
    public void Examples_CoverEveryRegisteredKind()
    {
        Assert.Equal(WindowKinds.Builtin.All.ToHashSet(), WindowExamples.Keys.ToHashSet());
        Assert.Equal(RuleKinds.Builtin.All.ToHashSet(), RuleExamples.Keys.ToHashSet());
    }

    [Theory]
    [MemberData(nameof(WindowKindNames))]
    public void WindowKind_RoundTripsThroughYamlAndFingerprint(string name)
    {
        var kind = WindowKinds.Builtin.Get(name);
        var definition = With([WindowExamples[kind]], []);

        var yaml = PipelineLoader.ToYaml(definition);
        var back = PipelineLoader.Parse(yaml, "round-trip.yaml");

        Assert.Contains($"type: {name}\n", yaml, StringComparison.Ordinal);
        Assert.Same(kind, back.Windows[0].Kind);
        Assert.Equal(definition.Windows, back.Windows);
        Assert.Equal(definition.Fingerprint(), back.Fingerprint());
        Assert.Equal(yaml, PipelineLoader.ToYaml(back));
    }

    [Theory]
    [MemberData(nameof(RuleKindNames))]
    public void RuleKind_RoundTripsThroughYamlAndFingerprint(string name)
    {
        var kind = RuleKinds.Builtin.Get(name);
        var definition = With([.. WindowExamples.Values], [RuleExamples[kind]]);

        var yaml = PipelineLoader.ToYaml(definition);
        var back = PipelineLoader.Parse(yaml, "round-trip.yaml");

        Assert.Contains($"type: {name}\n", yaml, StringComparison.Ordinal);
        Assert.Same(kind, back.Rules[0].Kind);
        Assert.Equal(definition.Rules, back.Rules);
        Assert.Equal(definition.Fingerprint(), back.Fingerprint());
        Assert.Equal(yaml, PipelineLoader.ToYaml(back));
    }

    /// <summary>Checkpoints carry the fingerprint: this text is frozen, whatever the code that writes it.</summary>
    [Fact]
    public void Fingerprint_OfTheDefaultPipeline_IsUnchanged() =>
        Assert.Equal(
            "ooo=5000;dedup=600000;window=1m,Tumbling,60000,60000,0;window=5m,Hopping,300000,60000,0;window=session,Session,0,0,30000;"
            + "rule=price_drop,PriceChange,5m,LessOrEqual,-5,0;rule=price_spike,PriceChange,5m,GreaterOrEqual,5,0;rule=volume_surge,VolumeSurge,1m,GreaterOrEqual,5,20",
            PipelineDefinition.Default.Fingerprint());

    [Fact]
    public void Fingerprint_WithOddNumbers_IsUnchanged()
    {
        var definition = With([.. WindowExamples.Values], [.. RuleExamples.Values]);

        Assert.Equal(
            "ooo=5000;dedup=600000;window=t,Tumbling,90000,90000,0;window=h,Hopping,7200000,1800000,0;window=s,Session,0,0,1250;"
            + "rule=drop,PriceChange,t,LessOrEqual,-1E-07,0;rule=surge,VolumeSurge,h,GreaterOrEqual,0.0025,7;"
            + "rule=rise,Expression,t,4,change_pct(close, 2) > 1.5e-3 and not (high == low)",
            definition.Fingerprint());
    }

    [Fact]
    public void Parse_WithAnUnknownRuleType_NamesItAndTheKnownOnes()
    {
        var yaml = """
            windows: [{ name: t, type: tumbling, size: 1m }]
            rules: [{ name: a, window: t, type: close_below, threshold: 3 }]
            """;

        var error = Assert.Single(Assert.Throws<PipelineConfigException>(() => PipelineLoader.Parse(yaml, "p.yaml")).Errors);

        Assert.Equal("p.yaml: rules[0].type: must be price_change, volume_surge or expression (got 'close_below')", error);
    }

    [Fact]
    public void Parse_WithAnUnknownWindowType_NamesItAndTheKnownOnes()
    {
        var yaml = """
            windows: [{ name: t, type: sliding, size: 1m }]
            rules: []
            """;

        var error = Assert.Single(Assert.Throws<PipelineConfigException>(() => PipelineLoader.Parse(yaml, "p.yaml")).Errors);

        Assert.Equal("p.yaml: windows[0].type: must be tumbling, hopping or session (got 'sliding')", error);
    }

    [Fact]
    public void Get_WithAnUnknownName_ThrowsNamingItAndTheKnownOnes()
    {
        var rule = Assert.Throws<KeyNotFoundException>(() => RuleKinds.Builtin.Get("close_below"));
        var window = Assert.Throws<KeyNotFoundException>(() => WindowKinds.Builtin.Get("sliding"));

        Assert.Equal("unknown rule type 'close_below'; known: price_change, volume_surge, expression", rule.Message);
        Assert.Equal("unknown window type 'sliding'; known: tumbling, hopping, session", window.Message);
    }

    [Fact]
    public void With_ANameAlreadyRegistered_Throws() =>
        Assert.Throws<ArgumentException>(() => RuleKinds.Builtin.With(RuleKind.PriceChange));

    [Fact]
    public void Labels_AreTheKindsNamesAndUnits()
    {
        Assert.Equal(["price_change", "volume_surge", "expression"], RuleKinds.Builtin.All.Select(k => k.Name));
        Assert.Equal(["percent", "percent", "factor"], PipelineDefinition.Default.Rules.Select(r => r.Kind.Unit(r)));
        Assert.Equal(["tumbling", "hopping", "session"], WindowKinds.Builtin.All.Select(k => k.Name));
        Assert.Equal("\u22125.2%", RuleKind.PriceChange.FormatValue(PipelineDefinition.Default.Rules[0], -5.21, withUnit: true));
        Assert.Equal("6.3\u00d7 mean volume", RuleKind.VolumeSurge.FormatValue(PipelineDefinition.Default.Rules[2], 6.31, withUnit: true));
        Assert.Equal("5.0\u00d7", RuleKind.VolumeSurge.FormatValue(PipelineDefinition.Default.Rules[2], 5, withUnit: false));
    }
}
