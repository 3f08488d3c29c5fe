namespace Breadboard.Core.Model;

/// <summary>A rule that fired on a closed window.</summary>
/// <param name="Id">
/// <c>{rule}:{symbol}:{window}:{window_start epoch ms}</c>: deterministic, so reprocessing yields the same ids
/// and every sink can upsert or de-duplicate on it.
/// </param>
/// <param name="Value">What the rule measured: the change in percent for price rules, the multiple of the mean volume for volume surges.</param>
/// <param name="Threshold">The rule's threshold, in the same unit as <paramref name="Value"/>.</param>
/// <param name="Ts">Event time at which the alert became known: the window's end, epoch ms UTC.</param>
/// <param name="Pipeline">
/// The <see cref="Pipeline.PipelineDefinition.Digest()"/> of the definition that fired it, so that an alert can be told
/// apart from one a reloaded definition fires; null for alerts written before definitions were stamped.
/// </param>
public sealed record Alert(
    string Id,
    string Rule,
    string Symbol,
    string Window,
    long WindowStart,
    long WindowEnd,
    double Value,
    double Threshold,
    long Ts,
    string? Pipeline = null)
{
    public static string MakeId(string rule, string symbol, string window, long windowStart) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{rule}:{symbol}:{window}:{windowStart}");
}
