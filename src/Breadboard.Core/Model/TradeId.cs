using System.Globalization;
using System.Numerics;

namespace Breadboard.Core.Model;

/// <summary>A venue's trade identifier, used to drop duplicate deliveries of the same trade.</summary>
/// <remarks>
/// Most venues number their trades, so a canonical decimal id is kept as a number and costs no allocation;
/// any other text (leading zeros, letters, UUIDs) is kept as the string it was. "9" and 9 are the same id.
/// </remarks>
public readonly struct TradeId : IEquatable<TradeId>
{
    // Marks a numeric id in _text, which keeps the struct at 16 bytes: the engine holds ten minutes of ids.
    private static readonly string NumberTag = new('#', 1);

    private readonly string? _text;
    private readonly long _number;

    private TradeId(long number)
    {
        _number = number;
        _text = NumberTag;
    }

    private TradeId(string text) => _text = text;

    /// <summary>No trade id: such ticks are never treated as duplicates.</summary>
    public static TradeId None => default;

    public bool HasValue => _text is not null;

    /// <summary>True when the id is a canonical decimal held as a number.</summary>
    public bool IsNumber => ReferenceEquals(_text, NumberTag);

    /// <summary>The numeric value; meaningful only when <see cref="IsNumber"/>.</summary>
    public long Number => _number;

    public static TradeId FromNumber(long number)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(number);
        return new TradeId(number);
    }

    /// <summary>Makes an id from text, storing canonical non-negative decimals as numbers.</summary>
    public static TradeId FromText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParseCanonical(text.AsSpan(), out var number) ? new TradeId(number) : new TradeId(text);
    }

    /// <summary>Makes an id from UTF-8 text without allocating when it is a canonical decimal.</summary>
    public static TradeId FromUtf8(ReadOnlySpan<byte> utf8)
    {
        if (TryParseCanonical(utf8, out var number))
        {
            return new TradeId(number);
        }

        return new TradeId(System.Text.Encoding.UTF8.GetString(utf8));
    }

    private static bool TryParseCanonical<T>(ReadOnlySpan<T> digits, out long number)
        where T : unmanaged, IBinaryInteger<T>
    {
        number = 0;
        // Canonical means no sign and no leading zero, so that text and number convert both ways unchanged.
        if (digits.IsEmpty || digits.Length > 19 || (digits.Length > 1 && digits[0] == T.CreateTruncating('0')))
        {
            return false;
        }

        ulong value = 0;
        foreach (var c in digits)
        {
            var d = int.CreateTruncating(c) - '0';
            if ((uint)d > 9)
            {
                return false;
            }

            value = (value * 10) + (uint)d; // 19 digits cannot overflow a ulong
        }

        if (value > long.MaxValue)
        {
            return false;
        }

        number = (long)value;
        return true;
    }

    public bool Equals(TradeId other) =>
        IsNumber ? other.IsNumber && _number == other._number : !other.IsNumber && string.Equals(_text, other._text, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is TradeId other && Equals(other);

    public override int GetHashCode() => IsNumber ? _number.GetHashCode() : (_text is null ? 0 : StringComparer.Ordinal.GetHashCode(_text));

    public override string? ToString() => IsNumber ? _number.ToString(CultureInfo.InvariantCulture) : _text;

    public static bool operator ==(TradeId left, TradeId right) => left.Equals(right);

    public static bool operator !=(TradeId left, TradeId right) => !left.Equals(right);
}
