using System.Text;

namespace Breadboard.Core.Seams;

/// <summary>
/// Text that came from outside (a server's error body, a venue's error, a silence's comment) made safe to print or
/// log on one line: no terminal escape sequences, control characters or bidi overrides, and not too long.
/// </summary>
/// <remarks>
/// A raw ESC sequence in a log line can rewrite what an operator's terminal shows, and a bidi override can make a
/// line read differently from what it says; neither belongs in text we did not write.
/// </remarks>
public static class OutsideText
{
    /// <summary>Longest text <see cref="ForDisplay"/> keeps, before its ellipsis.</summary>
    public const int DefaultMaxLength = 300;

    private const char Escape = '\u001b';

    /// <summary>
    /// <paramref name="text"/> on one line: escape sequences and C0/C1 control characters removed (line breaks and
    /// tabs become a space), bidi overrides and isolates removed, trimmed, and cut to <paramref name="maxLength"/>
    /// characters with an ellipsis. Null is empty.
    /// </summary>
    public static string ForDisplay(string? text, int maxLength = DefaultMaxLength)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);
        var shown = new StringBuilder(Math.Min(text.Length, maxLength + 1));
        var cut = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            string? add;
            switch (c)
            {
                case '\r' when i + 1 < text.Length && text[i + 1] == '\n':
                    continue;
                case '\n' or '\r' or '\t' or '\v' or '\f' or '\u0085' or '\u2028' or '\u2029':
                    add = " ";
                    break;
                case Escape:
                    i = SkipEscape(text, i + 1) - 1;
                    continue;
                case '\u009b':
                    i = SkipControlSequence(text, i + 1) - 1;
                    continue;
                case '\u061c' or '\u200e' or '\u200f' or (>= '\u202a' and <= '\u202e') or (>= '\u2066' and <= '\u2069'):
                    continue;
                case var _ when char.IsControl(c):
                    continue;
                case var _ when char.IsHighSurrogate(c):
                    if (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
                    {
                        continue;
                    }

                    add = text.Substring(i, 2);
                    i++;
                    break;
                case var _ when char.IsLowSurrogate(c):
                    continue;
                default:
                    add = null;
                    break;
            }

            var length = add?.Length ?? 1;
            if (shown.Length + length > maxLength)
            {
                cut = true;
                break;
            }

            if (add is null)
            {
                shown.Append(c);
            }
            else
            {
                shown.Append(add);
            }
        }

        var result = shown.ToString().Trim();
        return cut ? result + "…" : result;
    }

    /// <summary>The index after the escape sequence whose ESC was just before <paramref name="i"/>.</summary>
    private static int SkipEscape(string text, int i)
    {
        if (i >= text.Length)
        {
            return i;
        }

        switch (text[i])
        {
            case '[':
                return SkipControlSequence(text, i + 1);
            case ']' or 'P' or 'X' or '^' or '_':
                // OSC, DCS, SOS, PM, APC: a string ended by BEL or ST (ESC \).
                for (var j = i + 1; j < text.Length; j++)
                {
                    if (text[j] == '\u0007' || text[j] == '\u009c')
                    {
                        return j + 1;
                    }

                    if (text[j] == Escape && j + 1 < text.Length && text[j + 1] == '\\')
                    {
                        return j + 2;
                    }
                }

                return text.Length;
            default:
                // Intermediate bytes, then one final byte (ESC c, ESC ( B, ...).
                while (i < text.Length && text[i] is >= ' ' and <= '/')
                {
                    i++;
                }

                return i < text.Length && text[i] is >= '0' and <= '~' ? i + 1 : i;
        }
    }

    /// <summary>The index after a CSI sequence's parameters and final byte, starting after its introducer.</summary>
    private static int SkipControlSequence(string text, int i)
    {
        while (i < text.Length && text[i] is >= ' ' and <= '?')
        {
            i++;
        }

        return i < text.Length && text[i] is >= '@' and <= '~' ? i + 1 : i;
    }
}
