using System.Text;

namespace Breadboard.Feeds.Live;

/// <summary>
/// The venue's spelling of each subscribed symbol (BTCUSDT, BTC/USD) mapped back to the user's (BTC-USD), looked up
/// from the message's UTF-8 bytes without allocating: every tick of a symbol shares one string.
/// </summary>
public sealed class SymbolMap
{
    private const int MaxSymbolChars = 64;

    private readonly Dictionary<string, string> _byVenue;
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    /// <param name="symbols">The user's symbols.</param>
    /// <param name="toVenue">The venue's spelling of a user symbol; compared ignoring case.</param>
    public SymbolMap(IEnumerable<string> symbols, Func<string, string> toVenue)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        ArgumentNullException.ThrowIfNull(toVenue);
        _byVenue = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var symbol in symbols)
        {
            var venue = toVenue(symbol);
            if (venue.Length > MaxSymbolChars)
            {
                throw new ArgumentException($"symbol '{symbol}' is longer than {MaxSymbolChars} characters", nameof(symbols));
            }

            _byVenue[venue] = symbol;
        }

        _lookup = _byVenue.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The venue spellings, for subscriptions.</summary>
    public IEnumerable<string> VenueSymbols => _byVenue.Keys;

    /// <summary>The user's symbol for the venue's spelling in <paramref name="utf8"/>; false for a symbol not subscribed.</summary>
    public bool TryGet(ReadOnlySpan<byte> utf8, out string symbol)
    {
        symbol = "";
        if (utf8.Length > MaxSymbolChars)
        {
            return false;
        }

        Span<char> chars = stackalloc char[MaxSymbolChars];
        if (!Encoding.UTF8.TryGetChars(utf8, chars, out var length))
        {
            return false;
        }

        return _lookup.TryGetValue(chars[..length], out symbol!);
    }

    /// <summary>As <see cref="TryGet(ReadOnlySpan{byte}, out string)"/>, for a venue symbol already in chars.</summary>
    public bool TryGet(ReadOnlySpan<char> venueSymbol, out string symbol)
    {
        symbol = "";
        return _lookup.TryGetValue(venueSymbol, out symbol!);
    }
}
