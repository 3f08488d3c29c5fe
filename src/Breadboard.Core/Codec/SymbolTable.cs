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

    private const int RecentSlots = 64;
    private readonly Recent[] _recent = new Recent[RecentSlots];

    public SymbolTable() => _lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();

    public int Count => _strings.Count;

    /// <summary>Returns the interned string for <paramref name="utf8"/>, or null when it is empty, too long, not UTF-8 or holds whitespace or control characters.</summary>
    public string? Intern(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty || utf8.Length > MaxLength * 4)
        {
            return null;
        }

        // A value seen lately is found by its bytes alone, without decoding and hashing it as characters: a tick
        // line has two such values, and a file a few dozen distinct ones.
        var hash = 2166136261;
        foreach (var b in utf8)
        {
            hash = (hash ^ b) * 16777619;
        }

        ref var recent = ref _recent[hash % RecentSlots];
        if (recent.Value is not null && utf8.SequenceEqual(recent.Key.AsSpan(0, recent.Length)))
        {
            return recent.Value;
        }

        var interned = Decode(utf8);
        if (interned is not null)
        {
            recent.Key ??= new byte[MaxLength * 4];
            utf8.CopyTo(recent.Key);
            (recent.Length, recent.Value) = (utf8.Length, interned);
        }

        return interned;
    }

    private string? Decode(ReadOnlySpan<byte> utf8)
    {

        Span<char> chars = stackalloc char[MaxLength * 4];
        if (Ascii.ToUtf16(utf8, chars, out var widened) == System.Buffers.OperationStatus.Done)
        {
            return Intern(chars[..widened]); // the common case, without the strict decoder's overhead
        }

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

    private struct Recent
    {
        public byte[] Key;
        public int Length;
        public string? Value;
    }
}
