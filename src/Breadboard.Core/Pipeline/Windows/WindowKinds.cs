namespace Breadboard.Core.Pipeline.Windows;

/// <summary>The window types a pipeline file may name, looked up by their <c>type</c>.</summary>
/// <remarks>This is where a window type is registered: add its instance to <see cref="Builtin"/>.</remarks>
public sealed class WindowKinds
{
    private WindowKinds(IReadOnlyList<WindowKind> all) => All = all;

    /// <summary>Every window type Breadboard ships, in the order errors list them.</summary>
    public static WindowKinds Builtin { get; } = new([TumblingWindow.Instance, HoppingWindow.Instance, SessionWindow.Instance]);

    public IReadOnlyList<WindowKind> All { get; }

    /// <summary>"tumbling, hopping or session", for errors.</summary>
    public string Names => PipelineMapping.OrList(All.Select(k => k.Name));

    /// <summary>The kind with this <c>type</c>; null when there is none.</summary>
    public WindowKind? Find(string name)
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
    public WindowKind Get(string name) =>
        Find(name) ?? throw new KeyNotFoundException($"unknown window type '{PipelineMapping.Quote(name)}'; known: {string.Join(", ", All.Select(k => k.Name))}");

    /// <summary>These kinds and <paramref name="kind"/>, e.g. for a test or a plug-in; <see cref="Builtin"/> is unchanged.</summary>
    public WindowKinds With(WindowKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        if (Find(kind.Name) is not null)
        {
            throw new ArgumentException($"a window type named '{kind.Name}' is already registered", nameof(kind));
        }

        return new([.. All, kind]);
    }
}
