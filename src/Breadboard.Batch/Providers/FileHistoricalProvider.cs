using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;

namespace Breadboard.Batch.Providers;

/// <summary>
/// Bars read from a file: CSV with a header row when the name ends in <c>.csv</c>, NDJSON (one object per line)
/// otherwise. Fields: <c>symbol</c>, <c>ts</c> (or <c>time</c>, <c>timestamp</c>, <c>window_start</c>), <c>open</c>,
/// <c>high</c>, <c>low</c>, <c>close</c>, <c>volume</c>, and optionally <c>vwap</c> and <c>trades</c>.
/// </summary>
/// <remarks>
/// The time is epoch milliseconds or ISO-8601 with a zone. Every row is parsed, other symbols' too, and the first row
/// that cannot be read fails the fetch with its file:line: a broken file is not half-loaded. What parses is returned as
/// it is (duplicates, gaps, high below low): validation judges it. Symbols match exactly (case-sensitive).
/// </remarks>
public sealed class FileHistoricalProvider : IHistoricalProvider
{
    public const string ProviderName = "file";

    // Below this a "millisecond" time is before March 1973: almost surely epoch seconds, which would land in 1970.
    private const long SmallestPlausibleMs = 100_000_000_000;

    private static readonly string[] TimeFields = ["ts", "time", "timestamp", "window_start"];

    public FileHistoricalProvider(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = path;
    }

    public string Name => ProviderName;

    public string Path { get; }

    private bool IsCsv => Path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase);

    public async IAsyncEnumerable<Bar> FetchAsync(string symbol, long fromMs, long toMs, BarInterval interval, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(symbol);
        var rows = new List<Bar>();
        StreamReader reader;
        try
        {
            reader = new StreamReader(Path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HistoricalProviderException($"file {Path}: cannot open: {e.Message}", e);
        }

        using (reader)
        {
            var parser = IsCsv ? (IRowParser)new CsvRowParser(this) : new JsonRowParser(this);
            var lineNumber = 0;
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                if (parser.Parse(line, lineNumber, interval) is { } bar
                    && string.Equals(bar.Symbol, symbol, StringComparison.Ordinal)
                    && bar.WindowStart >= fromMs && bar.WindowStart < toMs)
                {
                    rows.Add(bar);
                }
            }

            if (lineNumber == 0 && IsCsv)
            {
                throw new HistoricalProviderException($"file {Path}:1: empty file, expected a header row");
            }
        }

        // Stable: rows with the same start keep the file's order, so duplicates reach validation as written.
        foreach (var bar in rows.OrderBy(b => b.WindowStart))
        {
            yield return bar;
        }
    }

    private HistoricalProviderException Error(int line, string what) => new($"file {Path}:{line}: {what}");

    /// <summary>A field of the file as an error quotes it: on one line, without control characters, cut short.</summary>
    private static string Show(string text) => OutsideText.ForDisplay(text, 40);

    private static bool TryParseTime(string text, out long ms)
    {
        ms = 0;
        text = text.Trim();
        if (text.Length > 0 && char.IsAsciiDigit(text[0]) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ms))
        {
            return ms is >= SmallestPlausibleMs and <= EventTime.MaxMs;
        }

        return EventTime.TryParseIso(text.AsSpan(), out ms);
    }

    private static bool TryParseNumber(string text, out double value) =>
        double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    private interface IRowParser
    {
        /// <summary>The row's bar; null for the CSV header.</summary>
        Bar? Parse(string line, int lineNumber, BarInterval interval);
    }

    /// <summary>One row's fields as text, whatever the format; null where absent.</summary>
    private readonly record struct RawRow(string? Symbol, string? Time, string? Open, string? High, string? Low, string? Close, string? Volume, string? Vwap, string? Trades);

    private Bar ToBar(RawRow row, int line, BarInterval interval)
    {
        if (string.IsNullOrWhiteSpace(row.Symbol))
        {
            throw Error(line, "missing symbol");
        }

        if (string.IsNullOrWhiteSpace(row.Time))
        {
            throw Error(line, "missing time (ts, time, timestamp or window_start)");
        }

        if (!TryParseTime(row.Time, out var start))
        {
            throw Error(line, $"bad time '{Show(row.Time)}': expected epoch milliseconds or ISO-8601 with a zone");
        }

        var open = Number(row.Open, "open", line);
        var high = Number(row.High, "high", line);
        var low = Number(row.Low, "low", line);
        var close = Number(row.Close, "close", line);
        var volume = Number(row.Volume, "volume", line);
        double? vwap = string.IsNullOrWhiteSpace(row.Vwap) ? null : Number(row.Vwap, "vwap", line);
        long trades = 0;
        if (!string.IsNullOrWhiteSpace(row.Trades)
            && !long.TryParse(row.Trades.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out trades))
        {
            throw Error(line, $"bad trades '{Show(row.Trades)}': expected an integer");
        }

        return new Bar(row.Symbol.Trim(), interval.Text, start, start + interval.Milliseconds, open, high, low, close, volume, vwap, trades);
    }

    private double Number(string? text, string field, int line)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw Error(line, $"missing {field}");
        }

        return TryParseNumber(text, out var value) ? value : throw Error(line, $"bad {field} '{Show(text)}': expected a finite number");
    }

    private sealed class CsvRowParser(FileHistoricalProvider file) : IRowParser
    {
        private int[]? _columns;

        // Column order in _columns: symbol, time, open, high, low, close, volume, vwap, trades (-1 when absent).
        public Bar? Parse(string line, int lineNumber, BarInterval interval)
        {
            var fields = Split(line, lineNumber);
            if (_columns is null)
            {
                _columns = Header(fields, lineNumber);
                return null;
            }

            string? At(int column) => _columns[column] < 0 ? null : _columns[column] < fields.Count ? fields[_columns[column]] : null;
            var required = 0;
            foreach (var index in _columns.AsSpan(0, 7))
            {
                required = Math.Max(required, index + 1);
            }

            if (fields.Count < required)
            {
                throw file.Error(lineNumber, $"{fields.Count} fields where the header has {_headerCount}");
            }

            return file.ToBar(new RawRow(At(0), At(1), At(2), At(3), At(4), At(5), At(6), At(7), At(8)), lineNumber, interval);
        }

        private int _headerCount;

        private int[] Header(List<string> names, int lineNumber)
        {
            _headerCount = names.Count;
            var columns = new int[9];
            Array.Fill(columns, -1);
            for (var i = 0; i < names.Count; i++)
            {
                var slot = Slot(names[i].Trim());
                if (slot >= 0 && columns[slot] < 0)
                {
                    columns[slot] = i;
                }
            }

            string[] required = ["symbol", "ts", "open", "high", "low", "close", "volume"];
            for (var slot = 0; slot < required.Length; slot++)
            {
                if (columns[slot] < 0)
                {
                    throw file.Error(lineNumber, $"header has no {(slot == 1 ? "ts, time, timestamp or window_start" : required[slot])} column (header: {Show(string.Join(',', names))})");
                }
            }

            return columns;
        }

        private static int Slot(string name)
        {
            if (TimeFields.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                return 1;
            }

            string[] others = ["symbol", "", "open", "high", "low", "close", "volume", "vwap", "trades"];
            for (var slot = 0; slot < others.Length; slot++)
            {
                if (others[slot].Length > 0 && string.Equals(others[slot], name, StringComparison.OrdinalIgnoreCase))
                {
                    return slot;
                }
            }

            return -1;
        }

        /// <summary>RFC 4180 fields: commas separate, double quotes enclose, "" inside quotes is a quote.</summary>
        private List<string> Split(string line, int lineNumber)
        {
            var fields = new List<string>();
            var field = new StringBuilder();
            var quoted = false;
            for (var i = 0; i < line.Length; i++)
            {
                var c = line[i];
                if (quoted)
                {
                    if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                    {
                        field.Append('"');
                        i++;
                    }
                    else if (c == '"')
                    {
                        quoted = false;
                    }
                    else
                    {
                        field.Append(c);
                    }
                }
                else if (c == '"')
                {
                    quoted = true;
                }
                else if (c == ',')
                {
                    fields.Add(field.ToString());
                    field.Clear();
                }
                else
                {
                    field.Append(c);
                }
            }

            if (quoted)
            {
                throw file.Error(lineNumber, "unterminated quoted field");
            }

            fields.Add(field.ToString());
            return fields;
        }
    }

    private sealed class JsonRowParser(FileHistoricalProvider file) : IRowParser
    {
        public Bar? Parse(string line, int lineNumber, BarInterval interval)
        {
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException e)
            {
                throw file.Error(lineNumber, $"not JSON: {e.Message.ReplaceLineEndings(" ")}");
            }

            using (document)
            {
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    throw file.Error(lineNumber, $"expected a JSON object, found {root.ValueKind}");
                }

                string? time = null;
                foreach (var name in TimeFields)
                {
                    time ??= Field(root, name, lineNumber);
                }

                return file.ToBar(
                    new RawRow(
                        Field(root, "symbol", lineNumber),
                        time,
                        Field(root, "open", lineNumber),
                        Field(root, "high", lineNumber),
                        Field(root, "low", lineNumber),
                        Field(root, "close", lineNumber),
                        Field(root, "volume", lineNumber),
                        Field(root, "vwap", lineNumber),
                        Field(root, "trades", lineNumber)),
                    lineNumber,
                    interval);
            }
        }

        /// <summary>A string or number field as text (numbers keep their JSON spelling); null when absent or null.</summary>
        private string? Field(JsonElement root, string name, int lineNumber)
        {
            if (!root.TryGetProperty(name, out var value))
            {
                return null;
            }

            return value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                JsonValueKind.Null => null,
                _ => throw file.Error(lineNumber, $"{name} is a JSON {value.ValueKind.ToString().ToLowerInvariant()}, expected a number or string"),
            };
        }
    }
}
