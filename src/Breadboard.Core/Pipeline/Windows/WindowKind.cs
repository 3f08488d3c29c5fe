using System.Globalization;

namespace Breadboard.Core.Pipeline.Windows;

/// <summary>
/// One type of window (tumbling, hopping, session): everything Breadboard knows about it, in one class. The loader,
/// the YAML writer, the fingerprint, the engine, the Flink compiler and the dashboard all ask the kind.
/// </summary>
/// <remarks>
/// A new window type is one subclass plus one line in <see cref="WindowKinds.Builtin"/>. Unlike a rule, a window
/// type also needs the engine to know how ticks are put into its windows (<see cref="Assignment"/>): a type that
/// reuses an existing assignment needs nothing else; a new assignment is a new case in <c>WindowEngine</c>.
/// </remarks>
public abstract class WindowKind
{
    /// <param name="name">The <c>type</c> in the pipeline file and the dashboard: <c>tumbling</c>.</param>
    /// <param name="fingerprintName">The name in <see cref="PipelineDefinition.Fingerprint"/>: frozen, since checkpoints carry it.</param>
    protected WindowKind(string name, string fingerprintName)
    {
        Name = name;
        FingerprintName = fingerprintName;
    }

    public static TumblingWindow Tumbling => TumblingWindow.Instance;

    public static HoppingWindow Hopping => HoppingWindow.Instance;

    public static SessionWindow Session => SessionWindow.Instance;

    /// <summary>The <c>type</c> in the pipeline file, the pipeline's JSON and the dashboard.</summary>
    public string Name { get; }

    /// <summary>The kind's name in the fingerprint; never change it for an existing kind.</summary>
    public string FingerprintName { get; }

    /// <summary>The fields of the pipeline file's mapping beyond <c>name</c> and <c>type</c>.</summary>
    public abstract IReadOnlyList<string> Fields { get; }

    /// <summary>How the engine puts a tick into windows of this kind.</summary>
    public abstract WindowAssignment Assignment { get; }

    /// <summary>Reads a window of this kind; problems go to <paramref name="mapping"/> and still give a definition.</summary>
    public abstract WindowDefinition Parse(PipelineMapping mapping, string name);

    /// <summary>The fields after <c>type</c> that <see cref="PipelineLoader.ToYaml"/> writes, each as its YAML text.</summary>
    public abstract IEnumerable<(string Field, string Value)> YamlFields(WindowDefinition window);

    /// <summary>The window's part of <see cref="PipelineDefinition.Fingerprint"/>; must stay byte-identical for existing definitions.</summary>
    public virtual string Fingerprint(WindowDefinition window)
    {
        ArgumentNullException.ThrowIfNull(window);
        return string.Create(CultureInfo.InvariantCulture, $"{window.Name},{FingerprintName},{window.SizeMs},{window.SlideMs},{window.GapMs}");
    }

    /// <summary>How far past its latest tick a window can end (its size, or a session's gap).</summary>
    public abstract long Extent(WindowDefinition window);

    /// <summary>How many windows of this definition one tick belongs to; each costs an update per tick.</summary>
    public virtual long WindowsPerTick(WindowDefinition window) => 1;

    /// <summary>Why Flink SQL cannot compute the window exactly as the local engine does; null when it can.</summary>
    public abstract string? SqlRefusal(WindowDefinition window);

    /// <summary>The window as a Flink SQL windowing table function over <c>ticks</c>, and the <c>window_end</c> column it gives.</summary>
    /// <param name="interval">Writes a duration as a SQL interval literal.</param>
    public abstract WindowSql ToSql(WindowDefinition window, Func<long, string> interval);

    public override string ToString() => FingerprintName;
}

/// <summary>How the engine puts ticks into the windows of a kind.</summary>
public enum WindowAssignment
{
    /// <summary>Fixed windows aligned to the epoch: the windows starting at the multiples of the slide in (ts − size, ts].</summary>
    Aligned,

    /// <summary>Per-symbol sessions: [ts, ts + gap), merged with every open session it overlaps.</summary>
    Session,
}

/// <param name="Table">The windowing table function, e.g. <c>TUMBLE(TABLE ticks, DESCRIPTOR(`ts`), INTERVAL '1' MINUTE)</c>.</param>
/// <param name="WindowEnd">The select-list item giving <c>window_end</c>.</param>
public readonly record struct WindowSql(string Table, string WindowEnd);
