namespace Breadboard.Core.Pipeline.Windows;

/// <summary><c>type: hopping</c>: windows of one size starting every slide, aligned to the epoch; the slide divides the size.</summary>
public sealed class HoppingWindow : WindowKind
{
    private HoppingWindow()
        : base("hopping", "Hopping")
    {
    }

    public static HoppingWindow Instance { get; } = new();

    public override IReadOnlyList<string> Fields { get; } = ["size", "slide"];

    public override WindowAssignment Assignment => WindowAssignment.Aligned;

    public override WindowDefinition Parse(PipelineMapping mapping, string name)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        var size = mapping.Duration("size");
        var slide = mapping.Duration("slide");
        if (slide > 0 && size > 0 && (slide > size || size % slide != 0))
        {
            // Flink's HOP requires it too; keeping the rule here keeps the engines equivalent.
            mapping.Error("slide", $"must divide size evenly and be at most size (size {PipelineMapping.FormatDuration(size)}, slide {PipelineMapping.FormatDuration(slide)})");
        }

        return WindowDefinition.Hopping(name, size, slide);
    }

    public override IEnumerable<(string Field, string Value)> YamlFields(WindowDefinition window)
    {
        ArgumentNullException.ThrowIfNull(window);
        yield return ("size", PipelineMapping.FormatDuration(window.SizeMs));
        yield return ("slide", PipelineMapping.FormatDuration(window.SlideMs));
    }

    public override long Extent(WindowDefinition window) => window?.SizeMs ?? 0;

    public override long WindowsPerTick(WindowDefinition window) =>
        window is { SlideMs: > 0 } ? window.SizeMs / window.SlideMs : 1;

    public override string? SqlRefusal(WindowDefinition window)
    {
        ArgumentNullException.ThrowIfNull(window);
        return window.SlideMs <= 0 || window.SizeMs <= 0 || window.SlideMs > window.SizeMs || window.SizeMs % window.SlideMs != 0
            ? $"Flink's HOP needs a size that is a multiple of the slide (size {window.SizeMs} ms, slide {window.SlideMs} ms)"
            : null;
    }

    public override WindowSql ToSql(WindowDefinition window, Func<long, string> interval)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(interval);
        return new($"HOP(TABLE ticks, DESCRIPTOR(`ts`), {interval(window.SlideMs)}, {interval(window.SizeMs)})", "`window_end`");
    }
}
