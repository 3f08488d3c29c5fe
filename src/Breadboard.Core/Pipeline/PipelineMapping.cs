using System.Globalization;
using Breadboard.Core.Pipeline.Indicators;

namespace Breadboard.Core.Pipeline;

/// <summary>
/// One mapping of a pipeline file (a window or a rule) as a kind's parser reads it: its fields, and the errors found,
/// reported with the field's path like every other loader error.
/// </summary>
public sealed class PipelineMapping
{
    private readonly Dictionary<string, object?> _map;
    private readonly Action<string, string> _error;
    private readonly IReadOnlyList<Aggregate> _aggregates;

    internal PipelineMapping(Dictionary<string, object?> map, string path, Action<string, string> error, IReadOnlyList<Aggregate> aggregates, IndicatorLayout? indicators = null)
    {
        _map = map;
        Path = path;
        _error = error;
        _aggregates = aggregates;
        Indicators = indicators ?? IndicatorLayout.Empty;
    }

    /// <summary>The pipeline's indicators, which a rule's expression may name.</summary>
    public IndicatorLayout Indicators { get; }

    /// <summary>Whether the rule's window is missing or names no window (already reported): its indicators' windows cannot be checked against it.</summary>
    internal bool WindowInError { get; init; }

    /// <summary>Indicators the file defines but that were left out for errors of their own (already reported): naming one says nothing more.</summary>
    internal IReadOnlySet<string> IndicatorsInError { get; init; } = new HashSet<string>();

    /// <summary>The bar columns the pipeline emits.</summary>
    public IReadOnlyList<Aggregate> Aggregates => _aggregates;

    /// <summary>Where the mapping is, e.g. <c>rules[2]</c>.</summary>
    public string Path { get; }

    public bool Has(string field) => _map.ContainsKey(field);

    /// <summary>The field's scalar text; null when it is missing or a list or mapping.</summary>
    public string? Text(string field) => _map.TryGetValue(field, out var node) ? node as string : null;

    /// <summary>A required finite number; a missing or bad one is reported and read as 0.</summary>
    public double Number(string field)
    {
        var text = Text(field);
        if (text is null)
        {
            Error(field, Has(field) ? "must be a number, not a list or mapping" : "is required: a number");
            return 0;
        }

        if (!TryNumber(text, out var value))
        {
            Error(field, $"must be a number (got '{Quote(text)}')");
            return 0;
        }

        return value;
    }

    /// <summary>The field as a finite number without reporting anything; 0 when it is not one.</summary>
    public double NumberOrZero(string field) => TryNumber(Text(field), out var value) ? value : 0;

    /// <summary>A required duration above zero (at most <see cref="PipelineLoader.MaxWindowMs"/>); a missing or bad one is reported and read as 0.</summary>
    public long Duration(string field)
    {
        if (!_map.TryGetValue(field, out var node))
        {
            Error(field, "is required: a duration like 60s, 5m, 500ms or 1h");
            return 0;
        }

        return PipelineLoader.Duration(node, $"{Path}.{field}", _error, allowZero: false, PipelineLoader.MaxWindowMs);
    }

    /// <summary>Whether the pipeline emits <paramref name="aggregate"/>, which a rule may need.</summary>
    public bool Emits(Aggregate aggregate) => _aggregates.Contains(aggregate);

    /// <summary>Reports a problem with <paramref name="field"/>, or with the whole mapping when it is null.</summary>
    public void Error(string? field, string message) => _error(field is null ? Path : $"{Path}.{field}", message);

    /// <summary>A value quoted in an error: one line, no control characters, at most 64 characters.</summary>
    public static string? Quote(string? text) => text is null ? null : Seams.OutsideText.ForDisplay(text, 64);

    /// <summary>A duration as the pipeline file writes it: <c>5m</c>, <c>30s</c>, <c>1h</c>, <c>500ms</c>.</summary>
    public static string FormatDuration(long ms) =>
        ms % 3_600_000 == 0 && ms > 0 ? $"{ms / 3_600_000}h"
        : ms % 60_000 == 0 && ms > 0 ? $"{ms / 60_000}m"
        : ms % 1_000 == 0 ? $"{ms / 1_000}s"
        : $"{ms}ms";

    /// <summary>A number as the pipeline file writes it: round-trip exact, invariant culture.</summary>
    public static string FormatNumber(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>"a, b or c", for errors listing the allowed names.</summary>
    internal static string OrList(IEnumerable<string> names)
    {
        var list = names.ToList();
        return list.Count <= 1 ? string.Concat(list) : string.Join(", ", list.Take(list.Count - 1)) + " or " + list[^1];
    }

    private static bool TryNumber(string? text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
}
