using System.Globalization;
using System.Text.Json;

namespace Breadboard.Feeds.Live;

/// <summary>What the venue protocols share when reading a message with <see cref="Utf8JsonReader"/>: values from the
/// message's bytes without allocating, and the short one-line texts of problem details.</summary>
internal static class VenueJson
{
    /// <summary>The longest detail a protocol reports for a message.</summary>
    public const int MaxDetailChars = 200;

    /// <summary>The string value's UTF-8 bytes: the message's own when not escaped, else unescaped into <paramref name="scratch"/> (empty if too long).</summary>
    public static ReadOnlySpan<byte> Unescaped(ref Utf8JsonReader reader, Span<byte> scratch)
    {
        if (!reader.ValueIsEscaped)
        {
            return reader.ValueSpan;
        }

        return reader.ValueSpan.Length <= scratch.Length ? scratch[..reader.CopyString(scratch)] : default;
    }

    /// <summary>A decimal sent as a JSON string (Coinbase, Binance: so that it survives JSON number handling); NaN when not one.</summary>
    public static double ReadDecimal(ref Utf8JsonReader reader, Span<byte> scratch) =>
        reader.TokenType == JsonTokenType.String
        && double.TryParse(Unescaped(ref reader, scratch), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value
            : double.NaN;

    /// <summary>The user's symbol for the string value at the reader, unescaping it on the stack if it has to.</summary>
    public static bool TryGetSymbol(ref Utf8JsonReader reader, SymbolMap map, out string symbol)
    {
        if (!reader.ValueIsEscaped)
        {
            return map.TryGet(reader.ValueSpan, out symbol);
        }

        symbol = "";
        Span<byte> buffer = stackalloc byte[256];
        return reader.ValueSpan.Length <= buffer.Length && map.TryGet(buffer[..reader.CopyString(buffer)], out symbol);
    }

    /// <summary>A string value as one line of text, cut at <see cref="MaxDetailChars"/>, or its JSON kind (for details only).</summary>
    /// <remarks>The venue's text goes into log lines: a line break in it would let a message forge log lines (found by fuzzing).</remarks>
    public static string Text(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.String ? Truncate(OneLine(reader.GetString() ?? "")) : reader.TokenType.ToString();

    public static string OneLine(string text) => text.ReplaceLineEndings(" ");

    public static string Truncate(string text, int max = MaxDetailChars) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max), "…");
}
