using System.Text;

namespace Breadboard.Core.Codec;

/// <summary>Interns short strings (symbols, exchange names) read as UTF-8, so a repeated value costs no allocation.</summary>
/// <remarks>Not thread-safe: one per reader.</remarks>
public sealed class SymbolTable
{
    /// <summary>Longest value accepted; longer ones are input errors, not symbols.</summary>
    public const int MaxLength = 64;

    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public SymbolTable() => _lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();

    public int Count => _strings.Count;

    /// <summary>Returns the interned string for <paramref name="utf8"/>, or null when it is empty, too long, not UTF-8 or holds whitespace or control characters.</summary>
    public string? Intern(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty || utf8.Length > MaxLength * 4)
        {
            return null;
        }

        Span<char> chars = stackalloc char[MaxLength * 4];
        int length;
        try
        {
            length = StrictUtf8.GetChars(utf8, chars);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }

        return Intern(chars[..length]);
    }

    /// <summary>As <see cref="Intern(ReadOnlySpan{byte})"/>, from characters.</summary>
    public string? Intern(ReadOnlySpan<char> chars)
    {
        if (chars.IsEmpty || chars.Length > MaxLength)
        {
            return null;
        }

        if (_lookup.TryGetValue(chars, out var existing))
        {
            return existing;
        }

        foreach (var c in chars)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                return null;
            }
        }

        var created = new string(chars);
        _strings.Add(created, created);
        return created;
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
