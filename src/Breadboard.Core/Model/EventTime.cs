using System.Globalization;
using System.Numerics;

namespace Breadboard.Core.Model;

/// <summary>Event times are UTC epoch milliseconds; this converts them to and from ISO-8601.</summary>
public static class EventTime
{
    private const long TicksPerMs = TimeSpan.TicksPerMillisecond;
    private static readonly long EpochTicks = DateTime.UnixEpoch.Ticks;

    /// <summary>Smallest and largest times accepted: years 1970 to 9999, so any ms value formats as a four-digit year.</summary>
    public const long MinMs = 0;

    public const long MaxMs = 253402300799999;

    /// <summary>Formats as <c>2026-01-02T14:30:00.123Z</c> (always milliseconds, always Z).</summary>
    public static string ToIso(long ms)
    {
        Span<char> buffer = stackalloc char[24];
        var written = FormatIso(ms, buffer);
        return new string(buffer[..written]);
    }

    /// <summary>Writes the ISO form into <paramref name="destination"/> (24 chars or bytes) without allocating.</summary>
    public static int FormatIso<T>(long ms, Span<T> destination)
        where T : unmanaged, IBinaryInteger<T>
    {
        var dt = new DateTime(EpochTicks + (ms * TicksPerMs), DateTimeKind.Utc);
        Write4(destination, 0, dt.Year);
        destination[4] = T.CreateTruncating('-');
        Write2(destination, 5, dt.Month);
        destination[7] = T.CreateTruncating('-');
        Write2(destination, 8, dt.Day);
        destination[10] = T.CreateTruncating('T');
        Write2(destination, 11, dt.Hour);
        destination[13] = T.CreateTruncating(':');
        Write2(destination, 14, dt.Minute);
        destination[16] = T.CreateTruncating(':');
        Write2(destination, 17, dt.Second);
        destination[19] = T.CreateTruncating('.');
        var milli = dt.Millisecond;
        destination[20] = T.CreateTruncating('0' + (milli / 100));
        destination[21] = T.CreateTruncating('0' + (milli / 10 % 10));
        destination[22] = T.CreateTruncating('0' + (milli % 10));
        destination[23] = T.CreateTruncating('Z');
        return 24;
    }

    private static void Write2<T>(Span<T> d, int at, int v)
        where T : unmanaged, IBinaryInteger<T>
    {
        d[at] = T.CreateTruncating('0' + (v / 10));
        d[at + 1] = T.CreateTruncating('0' + (v % 10));
    }

    private static void Write4<T>(Span<T> d, int at, int v)
        where T : unmanaged, IBinaryInteger<T>
    {
        Write2(d, at, v / 100);
        Write2(d, at + 2, v % 100);
    }

    public static DateTimeOffset ToDateTimeOffset(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    public static long FromDateTimeOffset(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    /// <summary>
    /// Parses <c>YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)</c> (a space may stand for T; fractions beyond
    /// milliseconds are truncated). A time without a zone is refused, since guessing one would shift every bar.
    /// </summary>
    public static bool TryParseIso<T>(ReadOnlySpan<T> s, out long ms)
        where T : unmanaged, IBinaryInteger<T>
    {
        ms = 0;
        if (s.Length < 20
            || !Digits(s, 0, 4, out var year) || !Is(s[4], '-')
            || !Digits(s, 5, 2, out var month) || !Is(s[7], '-')
            || !Digits(s, 8, 2, out var day) || !(Is(s[10], 'T') || Is(s[10], 't') || Is(s[10], ' '))
            || !Digits(s, 11, 2, out var hour) || !Is(s[13], ':')
            || !Digits(s, 14, 2, out var minute) || !Is(s[16], ':')
            || !Digits(s, 17, 2, out var second))
        {
            return false;
        }

        var i = 19;
        var milli = 0;
        if (Is(s[i], '.'))
        {
            i++;
            var start = i;
            while (i < s.Length && IsDigit(s[i]))
            {
                if (i - start < 3)
                {
                    milli = (milli * 10) + Digit(s[i]);
                }

                i++;
            }

            var count = i - start;
            if (count == 0)
            {
                return false;
            }

            for (var k = count; k < 3; k++)
            {
                milli *= 10;
            }
        }

        if (i >= s.Length)
        {
            return false;
        }

        var offsetMinutes = 0;
        if (Is(s[i], 'Z') || Is(s[i], 'z'))
        {
            i++;
        }
        else if (Is(s[i], '+') || Is(s[i], '-'))
        {
            var sign = Is(s[i], '-') ? -1 : 1;
            if (i + 6 != s.Length || !Digits(s, i + 1, 2, out var oh) || !Is(s[i + 3], ':') || !Digits(s, i + 4, 2, out var om) || oh > 23 || om > 59)
            {
                return false;
            }

            offsetMinutes = sign * ((oh * 60) + om);
            i += 6;
        }
        else
        {
            return false;
        }

        if (i != s.Length || year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)
            || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        var ticks = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).Ticks - EpochTicks;
        ms = (ticks / TicksPerMs) + milli - (offsetMinutes * 60_000L);
        return ms is >= MinMs and <= MaxMs;
    }

    /// <summary>Parses ISO-8601 or integer epoch milliseconds, as the CLI's --from and --to accept.</summary>
    public static bool TryParse(string text, out long ms)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ms))
        {
            return ms <= MaxMs;
        }

        if (TryParseIso(text.AsSpan(), out ms))
        {
            return true;
        }

        // A bare date (2026-01-02) means its midnight UTC.
        if (DateTime.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var date))
        {
            ms = new DateTimeOffset(date, TimeSpan.Zero).ToUnixTimeMilliseconds();
            return ms >= MinMs;
        }

        return false;
    }

    private static bool Is<T>(T c, char expected)
        where T : unmanaged, IBinaryInteger<T> => int.CreateTruncating(c) == expected;

    private static bool IsDigit<T>(T c)
        where T : unmanaged, IBinaryInteger<T> => (uint)(int.CreateTruncating(c) - '0') <= 9;

    private static int Digit<T>(T c)
        where T : unmanaged, IBinaryInteger<T> => int.CreateTruncating(c) - '0';

    private static bool Digits<T>(ReadOnlySpan<T> s, int at, int count, out int value)
        where T : unmanaged, IBinaryInteger<T>
    {
        value = 0;
        for (var k = at; k < at + count; k++)
        {
            if (!IsDigit(s[k]))
            {
                return false;
            }

            value = (value * 10) + Digit(s[k]);
        }

        return true;
    }
}
