namespace Breadboard.Core.Pipeline.Indicators;

/// <summary>The indicator types a pipeline file may name, looked up by their <c>type</c>.</summary>
public sealed class IndicatorKinds
{
    private IndicatorKinds(IReadOnlyList<IndicatorKind> all) => All = all;

    /// <summary>Every indicator type Breadboard ships, in the order errors list them.</summary>
    public static IndicatorKinds Builtin { get; } = new(
    [
        SmaIndicator.Instance,
        EmaIndicator.Instance,
        RsiIndicator.Instance,
        ZScoreIndicator.Instance,
        BollingerIndicator.Instance,
        AtrIndicator.Instance,
    ]);

    public IReadOnlyList<IndicatorKind> All { get; }

    /// <summary>"sma, ema, … or atr", for errors.</summary>
    public string Names => PipelineMapping.OrList(All.Select(k => k.Name));

    /// <summary>The kind with this <c>type</c>; null when there is none.</summary>
    public IndicatorKind? Find(string name)
    {
        foreach (var kind in All)
        {
            if (kind.Name == name)
            {
                return kind;
            }
        }

        return null;
    }
}
