namespace Breadboard.Core.Pipeline.Windows;

/// <summary><c>type: session</c>: per symbol, ticks less than the gap apart share a window, from the first ts to the last ts + gap.</summary>
public sealed class SessionWindow : WindowKind
{
    private SessionWindow()
        : base("session", "Session")
    {
    }

    public static SessionWindow Instance { get; } = new();

    public override IReadOnlyList<string> Fields { get; } = ["gap"];

    public override WindowAssignment Assignment => WindowAssignment.Session;

    public override WindowDefinition Parse(PipelineMapping mapping, string name)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        return WindowDefinition.Session(name, mapping.Duration("gap"));
    }

    public override IEnumerable<(string Field, string Value)> YamlFields(WindowDefinition window)
    {
        ArgumentNullException.ThrowIfNull(window);
        yield return ("gap", PipelineMapping.FormatDuration(window.GapMs));
    }

    public override long Extent(WindowDefinition window) => window?.GapMs ?? 0;

    // The gap is compiled as gap - 1 ms (see ToSql), which must stay positive.
    public override string? SqlRefusal(WindowDefinition window) =>
        window?.GapMs < 2 ? "session gaps under 2 ms" : null;

    public override WindowSql ToSql(WindowDefinition window, Func<long, string> interval)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(interval);

        // Flink merges sessions whose [ts, ts + gap) windows touch; the local engine only merges overlapping ones.
        // With integer-ms event times, gap - 1 ms makes Flink merge exactly the ticks less than gap apart.
        return new(
            $"SESSION(TABLE ticks PARTITION BY `symbol`, DESCRIPTOR(`ts`), {interval(window.GapMs - 1)})",
            "`window_end` + INTERVAL '0.001' SECOND AS `window_end`");
    }
}
