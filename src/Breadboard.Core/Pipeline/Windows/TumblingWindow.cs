namespace Breadboard.Core.Pipeline.Windows;

/// <summary><c>type: tumbling</c>: back-to-back windows of one size, aligned to the epoch.</summary>
public sealed class TumblingWindow : WindowKind
{
    private TumblingWindow()
        : base("tumbling", "Tumbling")
    {
    }

    public static TumblingWindow Instance { get; } = new();

    public override IReadOnlyList<string> Fields { get; } = ["size"];

    public override WindowAssignment Assignment => WindowAssignment.Aligned;

    public override WindowDefinition Parse(PipelineMapping mapping, string name)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        return WindowDefinition.Tumbling(name, mapping.Duration("size"));
    }

    public override IEnumerable<(string Field, string Value)> YamlFields(WindowDefinition window)
    {
        ArgumentNullException.ThrowIfNull(window);
        yield return ("size", PipelineMapping.FormatDuration(window.SizeMs));
    }

    public override long Extent(WindowDefinition window) => window?.SizeMs ?? 0;

    public override string? SqlRefusal(WindowDefinition window) =>
        window?.SizeMs <= 0 ? "tumbling size must be positive" : null;

    public override WindowSql ToSql(WindowDefinition window, Func<long, string> interval)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(interval);
        return new($"TUMBLE(TABLE ticks, DESCRIPTOR(`ts`), {interval(window.SizeMs)})", "`window_end`");
    }
}
