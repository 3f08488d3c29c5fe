namespace Breadboard.Core.Pipeline.Rules;

/// <summary>The rule types a pipeline file may name, looked up by their <c>type</c>.</summary>
/// <remarks>
/// This is where a rule type is registered: add its instance to <see cref="Builtin"/>, which the loader uses by
/// default. <see cref="With"/> gives a registry with one more kind for a caller of its own (a test, a plug-in)
/// without changing <see cref="Builtin"/> for anyone else.
/// </remarks>
public sealed class RuleKinds
{
    private RuleKinds(IReadOnlyList<RuleKind> all) => All = all;

    /// <summary>Every rule type Breadboard ships, in the order errors list them.</summary>
    public static RuleKinds Builtin { get; } = new([PriceChangeRule.Instance, VolumeSurgeRule.Instance, ExpressionRule.Instance]);

    public IReadOnlyList<RuleKind> All { get; }

    /// <summary>"price_change or volume_surge", for errors.</summary>
    public string Names => PipelineMapping.OrList(All.Select(k => k.Name));

    /// <summary>The kind with this <c>type</c>; null when there is none.</summary>
    public RuleKind? Find(string name)
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

    /// <summary>The kind with this <c>type</c>.</summary>
    /// <exception cref="KeyNotFoundException">No such kind; the message names it and the known ones.</exception>
    public RuleKind Get(string name) =>
        Find(name) ?? throw new KeyNotFoundException($"unknown rule type '{PipelineMapping.Quote(name)}'; known: {string.Join(", ", All.Select(k => k.Name))}");

    /// <summary>These kinds and <paramref name="kind"/>; <see cref="Builtin"/> is unchanged.</summary>
    /// <exception cref="ArgumentException">A kind of that name is already registered.</exception>
    public RuleKinds With(RuleKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        if (Find(kind.Name) is not null)
        {
            throw new ArgumentException($"a rule type named '{kind.Name}' is already registered", nameof(kind));
        }

        return new([.. All, kind]);
    }
}
