using System.Text.Json;
using Breadboard.Core.Model;

namespace Breadboard.Core.Codec;

/// <summary>
/// Single bars and alerts as JSON message bodies (Kafka's <c>bars</c> / <c>alerts</c> topics, NATS alert
/// messages): replay's NDJSON line without the newline, and the parser that reads an alert back.
/// </summary>
public static class RecordJson
{
    public static byte[] Bar(Bar bar) => Write(w => w.Write(bar));

    public static byte[] Alert(Alert alert) => Write(w => w.Write(alert));

    /// <summary>Reads an alert written by <see cref="Alert(Model.Alert)"/>; on failure a one-line reason.
    /// <c>pipeline</c> may be null or absent (null), as in alerts written before definitions were stamped.</summary>
    public static bool TryParseAlert(ReadOnlySpan<byte> utf8, out Alert? alert, out string? error)
    {
        alert = null;
        try
        {
            using var document = JsonDocument.Parse(utf8.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "an alert must be a JSON object";
                return false;
            }

            if (!TryString(root, "id", out var id, out error) || !TryString(root, "rule", out var rule, out error) ||
                !TryString(root, "symbol", out var symbol, out error) || !TryString(root, "window", out var window, out error) ||
                !TryTime(root, "window_start", out var windowStart, out error) || !TryTime(root, "window_end", out var windowEnd, out error) ||
                !TryNumberOrNull(root, "value", out var value, out error) || !TryNumberOrNull(root, "threshold", out var threshold, out error) ||
                !TryTime(root, "ts", out var ts, out error))
            {
                return false;
            }

            string? pipeline = null;
            if (root.TryGetProperty("pipeline", out var p) && p.ValueKind != JsonValueKind.Null)
            {
                if (p.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(p.GetString()))
                {
                    error = "\"pipeline\" must be a non-empty string or null";
                    return false;
                }

                pipeline = p.GetString();
            }

            alert = new Alert(id, rule, symbol, window, windowStart, windowEnd, value, threshold, ts, pipeline);
            return true;
        }
        catch (JsonException e)
        {
            error = $"not JSON: {e.Message.Split('.')[0]}";
            return false;
        }
        catch (InvalidOperationException)
        {
            // JsonDocument leaves strings unvalidated until they are read: a lone surrogate escape or bytes that are
            // not UTF-8 throw this from GetString (found by fuzzing).
            error = InvalidString;
            return false;
        }
    }

    /// <summary>Reads a bar written by <see cref="Bar(Model.Bar)"/> (replay's bars NDJSON line); on failure a
    /// one-line reason. <c>vwap</c> may be null or absent, <c>trades</c> absent (0).</summary>
    public static bool TryParseBar(ReadOnlySpan<byte> utf8, out Bar? bar, out string? error)
    {
        bar = null;
        try
        {
            using var document = JsonDocument.Parse(utf8.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "a bar must be a JSON object";
                return false;
            }

            if (!TryString(root, "symbol", out var symbol, out error) || !TryString(root, "window", out var window, out error) ||
                !TryTime(root, "window_start", out var start, out error) || !TryTime(root, "window_end", out var end, out error) ||
                !TryNumber(root, "open", out var open, out error) || !TryNumber(root, "high", out var high, out error) ||
                !TryNumber(root, "low", out var low, out error) || !TryNumber(root, "close", out var close, out error) ||
                !TryNumber(root, "volume", out var volume, out error))
            {
                return false;
            }

            double? vwap = null;
            if (root.TryGetProperty("vwap", out var v) && v.ValueKind != JsonValueKind.Null)
            {
                if (!TryNumber(root, "vwap", out var value, out error))
                {
                    error = "\"vwap\" must be a number or null";
                    return false;
                }

                vwap = value;
            }

            long trades = 0;
            if (root.TryGetProperty("trades", out var t) && (t.ValueKind != JsonValueKind.Number || !t.TryGetInt64(out trades)))
            {
                error = "\"trades\" must be an integer";
                return false;
            }

            bar = new Bar(symbol, window, start, end, open, high, low, close, volume, vwap, trades);
            return true;
        }
        catch (JsonException e)
        {
            error = $"not JSON: {e.Message.Split('.')[0]}";
            return false;
        }
        catch (InvalidOperationException)
        {
            // JsonDocument leaves strings unvalidated until they are read: a lone surrogate escape or bytes that are
            // not UTF-8 throw this from GetString (found by fuzzing).
            error = InvalidString;
            return false;
        }
    }

    /// <summary>
    /// Why a bar read from outside cannot be one an engine made from valid ticks (prices beyond
    /// <see cref="TickLimits"/>, a negative volume or count, an end not after its start); null when it can.
    /// <see cref="TryParseBar"/> reads any finite bar, so that a batch's validation can report what is wrong with it.
    /// </summary>
    public static string? CheckValues(Bar bar)
    {
        ArgumentNullException.ThrowIfNull(bar);
        return bar.WindowEnd <= bar.WindowStart ? "\"window_end\" must be after \"window_start\""
            : !TickLimits.IsValidPrice(bar.Open) || !TickLimits.IsValidPrice(bar.High) || !TickLimits.IsValidPrice(bar.Low) || !TickLimits.IsValidPrice(bar.Close)
                ? $"\"open\", \"high\", \"low\" and \"close\" must be prices: {TickLimits.PriceRule}"
            : bar.Vwap is { } vwap && !TickLimits.IsValidPrice(vwap) ? $"\"vwap\" must be null or a price: {TickLimits.PriceRule}"
            : bar.Volume < 0 ? "\"volume\" must not be negative"
            : bar.Trades < 0 ? "\"trades\" must not be negative"
            : null;
    }

    /// <summary>Why an alert read from outside cannot be one an engine made; null when it can.</summary>
    public static string? CheckValues(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return alert.WindowEnd <= alert.WindowStart ? "\"window_end\" must be after \"window_start\"" : null;
    }

    private const string InvalidString = "not JSON: a string is not valid UTF-8 or has an invalid \\u escape";

    private static bool TryString(JsonElement root, string name, out string value, out string? error)
    {
        value = "";
        error = null;
        if (!root.TryGetProperty(name, out var element) || element.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(element.GetString()))
        {
            error = $"\"{name}\" must be a non-empty string";
            return false;
        }

        value = element.GetString()!;
        return true;
    }

    private static bool TryNumber(JsonElement root, string name, out double value, out string? error)
    {
        value = 0;
        error = null;
        if (!root.TryGetProperty(name, out var element) || element.ValueKind != JsonValueKind.Number || !element.TryGetDouble(out value) || !double.IsFinite(value))
        {
            error = $"\"{name}\" must be a finite number";
            return false;
        }

        return true;
    }

    /// <summary>An alert's value or threshold: a finite number, or null where an expression's operand was undefined (NaN).</summary>
    private static bool TryNumberOrNull(JsonElement root, string name, out double value, out string? error)
    {
        if (root.TryGetProperty(name, out var element) && element.ValueKind == JsonValueKind.Null)
        {
            value = double.NaN;
            error = null;
            return true;
        }

        if (!TryNumber(root, name, out value, out error))
        {
            error = $"\"{name}\" must be a finite number or null";
            return false;
        }

        return true;
    }

    private static bool TryTime(JsonElement root, string name, out long ms, out string? error)
    {
        ms = 0;
        error = null;
        if (root.TryGetProperty(name, out var element) &&
            ((element.ValueKind == JsonValueKind.String && EventTime.TryParseIso(element.GetString().AsSpan(), out ms)) ||
             (element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out ms) && ms is >= EventTime.MinMs and <= EventTime.MaxMs)))
        {
            return true;
        }

        error = $"\"{name}\" must be an ISO-8601 UTC time or epoch milliseconds, from 1970 to 9999";
        return false;
    }

    /// <summary>One writer per thread, reused: a record writer's buffer is sized for files, too big to make per message.</summary>
    [ThreadStatic]
    private static (MemoryStream Stream, RecordWriter Writer)? _threadWriter;

    private static byte[] Write(Action<RecordWriter> write)
    {
        if (_threadWriter is not { } cached)
        {
            var stream = new MemoryStream(256);
            cached = (stream, new RecordWriter(stream));
            _threadWriter = cached;
        }

        cached.Stream.SetLength(0);
        write(cached.Writer);
        cached.Writer.Flush();
        return cached.Stream.GetBuffer().AsSpan(0, (int)cached.Stream.Length).TrimEnd((byte)'\n').ToArray();
    }
}
