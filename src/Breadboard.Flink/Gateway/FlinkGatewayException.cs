using Breadboard.Core.Seams;

namespace Breadboard.Flink.Gateway;

/// <summary>
/// The SQL Gateway refused or failed a request, or could not be reached. The message is one line: the statement that
/// failed (its first line) and the gateway's root cause, never a Java stack trace.
/// </summary>
public sealed class FlinkGatewayException : Exception
{
    public FlinkGatewayException(string message)
        : base(message)
    {
    }

    public FlinkGatewayException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public FlinkGatewayException()
    {
    }

    /// <summary>The statement the failure belongs to, when it belongs to one.</summary>
    public string? Statement { get; init; }

    /// <summary>The gateway's most specific error line (see <see cref="RootCause(IReadOnlyList{string})"/>), when it sent errors.</summary>
    public string? Cause { get; init; }

    private const int MaxSummary = 60;
    private const int MaxCause = 400;

    /// <summary>A statement shortened for a one-line message: its first non-empty line without a trailing <c>(</c> or <c>AS</c>.</summary>
    public static string Summarize(string statement)
    {
        ArgumentNullException.ThrowIfNull(statement);
        var line = statement.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(l => !l.StartsWith("--", StringComparison.Ordinal)) ?? "";
        line = line.TrimEnd('(', ' ');
        if (line.EndsWith(" AS", StringComparison.OrdinalIgnoreCase))
        {
            line = line[..^3];
        }

        return line.Length <= MaxSummary ? line : line[..(MaxSummary - 1)] + "…";
    }

    /// <summary>
    /// The most specific line of a Flink REST error body's <c>errors</c>: the deepest <c>Caused by:</c> of the server
    /// side stack trace, with the exception's package dropped; else the first line that is neither Flink's preamble
    /// nor a stack frame.
    /// </summary>
    /// <remarks>
    /// Flink answers an unhandled failure with <c>["Internal server error.", "&lt;Exception on server side:\n…\nEnd of
    /// exception on server side&gt;"]</c> (flink-runtime <c>AbstractHandler</c>); the top of that trace is the gateway's
    /// own wrapper ("Failed to fetchResults."), the bottom cause is what the user must fix.
    /// </remarks>
    public static string? RootCause(IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        string? deepest = null;
        string? first = null;
        foreach (var error in errors)
        {
            foreach (var raw in error.Split('\n'))
            {
                var line = raw.Trim();
                if (line.StartsWith("Caused by:", StringComparison.Ordinal))
                {
                    var cause = line["Caused by:".Length..].Trim();
                    if (cause.Length > 0)
                    {
                        deepest = cause;
                    }
                }
                else if (first is null && IsMeaningful(line))
                {
                    first = line;
                }
            }
        }

        var chosen = deepest ?? first;
        return chosen is null ? null : Shorten(WithoutPackage(chosen));
    }

    private static bool IsMeaningful(string line) =>
        line.Length > 0
        && line != "Internal server error."
        && !line.StartsWith("<Exception on server side", StringComparison.Ordinal)
        && !line.StartsWith("End of exception on server side", StringComparison.Ordinal)
        && !line.StartsWith("at ", StringComparison.Ordinal)
        && !line.StartsWith("...", StringComparison.Ordinal);

    /// <summary><c>org.apache.flink.table.api.ValidationException: x</c> → <c>ValidationException: x</c>.</summary>
    private static string WithoutPackage(string line)
    {
        var colon = line.IndexOf(':', StringComparison.Ordinal);
        var type = colon < 0 ? line : line[..colon];
        if (type.Contains(' ', StringComparison.Ordinal) || !type.Contains('.', StringComparison.Ordinal))
        {
            return line;
        }

        return line[(type.LastIndexOf('.') + 1)..];
    }

    /// <summary>The gateway's line as it may be printed: no escape sequences, at most <see cref="MaxCause"/> characters.</summary>
    private static string Shorten(string line) => OutsideText.ForDisplay(line, MaxCause - 1);
}
