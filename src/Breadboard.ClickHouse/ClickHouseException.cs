using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Breadboard.Core.Seams;

namespace Breadboard.ClickHouse;

/// <summary>An error the ClickHouse server answered with: its code and the first line of its message.</summary>
public sealed partial class ClickHouseException : Exception
{
    private const int MaxServerTextLength = 300;
    private const int MaxSqlLength = 80;

    // ClickHouse codes that say "try again later", not "this query is wrong".
    private static readonly HashSet<int> TransientCodes =
    [
        159, // TIMEOUT_EXCEEDED
        202, // TOO_MANY_SIMULTANEOUS_QUERIES
        209, // SOCKET_TIMEOUT
        210, // NETWORK_ERROR
        225, // NO_ZOOKEEPER: a replicated table's ZooKeeper session expired or is not back yet
        241, // MEMORY_LIMIT_EXCEEDED
        242, // TABLE_IS_READ_ONLY: a replicated table without ZooKeeper
        252, // TOO_MANY_PARTS
        319, // UNKNOWN_STATUS_OF_INSERT: ZooKeeper lost mid-insert; the same block again is deduplicated if it went in
        425, // SYSTEM_ERROR
        999, // KEEPER_EXCEPTION: ZooKeeper's connection loss or session expiry in a replicated table's query
    ];

    public ClickHouseException()
    {
    }

    public ClickHouseException(string message)
        : base(message)
    {
    }

    public ClickHouseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    private ClickHouseException(string message, int code, HttpStatusCode status)
        : base(message)
    {
        Code = code;
        StatusCode = status;
    }

    /// <summary>The server's error code (62 is a syntax error, 60 an unknown table); 0 when the answer had none.</summary>
    public int Code { get; }

    /// <summary>The HTTP status the server answered with.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>Whether the same request may succeed later (overload, timeouts, HTTP 503); such errors are retried.</summary>
    public bool IsTransient => StatusCode == HttpStatusCode.ServiceUnavailable || TransientCodes.Contains(Code);

    /// <summary>Builds the exception from an error body (<c>Code: 62, e.displayText() = DB::Exception: ...</c> on 18.x,
    /// <c>Code: 62. DB::Exception: ... (SYNTAX_ERROR) (version ...)</c> on newer servers).</summary>
    internal static ClickHouseException FromResponse(HttpStatusCode status, string? codeHeader, string body, string sql)
    {
        var firstLine = body.AsSpan().TrimStart();
        var end = firstLine.IndexOfAny('\r', '\n');
        var text = (end < 0 ? firstLine : firstLine[..end]).Trim().ToString();

        var code = 0;
        var match = CodePattern().Match(text);
        if (match.Success)
        {
            code = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            text = text[match.Length..];
        }

        if (!string.IsNullOrEmpty(codeHeader) && int.TryParse(codeHeader, NumberStyles.Integer, CultureInfo.InvariantCulture, out var headerCode))
        {
            code = headerCode;
        }

        text = text.Replace("e.displayText() = ", "", StringComparison.Ordinal);
        var what = text.IndexOf(", e.what() = ", StringComparison.Ordinal);
        if (what >= 0)
        {
            text = text[..what];
        }

        // The server's text (or a proxy's page) is printed and logged: no escape sequences, no more than a line.
        text = OutsideText.ForDisplay(text, MaxServerTextLength);
        if (text.Length == 0)
        {
            text = $"HTTP {(int)status} {status}";
        }

        var message = string.Create(CultureInfo.InvariantCulture, $"ClickHouse error {code}: {text} (query: {Abbreviate(sql)})");
        return new ClickHouseException(message, code, status);
    }

    /// <summary>The statement on one line, cut short; its literals may hold outside text (a venue's symbol), so it is made safe to print.</summary>
    internal static string Abbreviate(string sql)
    {
        var oneLine = string.Join(' ', sql.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return OutsideText.ForDisplay(oneLine, MaxSqlLength);
    }

    [GeneratedRegex(@"^Code:\s*(\d+)[.,]?\s*")]
    private static partial Regex CodePattern();
}
