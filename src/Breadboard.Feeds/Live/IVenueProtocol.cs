using Breadboard.Core.Model;

namespace Breadboard.Feeds.Live;

/// <summary>
/// One exchange's public WebSocket trade API: what to send after connecting, and how to read its messages into
/// Breadboard ticks. <c>LiveFeed</c> owns the connection (reconnects, timeouts, counters, gaps); a protocol
/// only speaks the venue's format, so each venue is a small class tested on the venue's documented messages.
/// </summary>
/// <remarks>A protocol instance serves one connection at a time and may keep per-connection state (a sequence
/// number); <see cref="OnConnected"/> resets it. <see cref="Decode"/> is the hot path: it must not allocate per
/// trade (symbols come from a <see cref="SymbolMap"/>, numbers are parsed from the UTF-8 bytes).</remarks>
public interface IVenueProtocol
{
    /// <summary>The <c>--feed</c> name and the ticks' <see cref="Tick.Exchange"/>: coinbase, binance, kraken, alpaca.</summary>
    string Name { get; }

    AssetClass AssetClass { get; }

    /// <summary>The venue's production endpoint; <c>--feed-url</c> replaces it (tests, sandboxes).</summary>
    Uri DefaultUrl { get; }

    /// <summary>No frame at all for this long means the connection is dead (the venue's heartbeat period, with margin).</summary>
    TimeSpan SilenceTimeout { get; }

    /// <summary>The symbols this connection trades, as the user named them (BTC-USD, AAPL).</summary>
    IReadOnlyList<string> Symbols { get; }

    /// <summary>HTTP headers of the WebSocket handshake (credentials where the venue takes them there); none by default.</summary>
    /// <remarks>May carry credentials: never log them.</remarks>
    IReadOnlyList<KeyValuePair<string, string>> HandshakeHeaders => [];

    /// <summary>Text frames to send after each connect, in order: authentication, then subscriptions.</summary>
    /// <remarks>May carry credentials: never log them.</remarks>
    IReadOnlyList<string> OpeningFrames();

    /// <summary>A new connection begins: forget per-connection state such as the last sequence number.</summary>
    void OnConnected();

    /// <summary>Reads one whole message, handing its trades and any sequence gap it reveals to <paramref name="sink"/>.</summary>
    DecodeOutcome Decode(ReadOnlySpan<byte> message, IFeedSink sink);
}

/// <summary>Where a protocol hands what it decoded.</summary>
public interface IFeedSink
{
    void Trade(in Tick tick);

    /// <summary>The venue's own numbering shows trades of <paramref name="symbol"/> were missed (e.g. "trade ids 101–104").</summary>
    void SequenceGap(string symbol, string detail);
}

/// <summary>What a message was.</summary>
public enum DecodeKind
{
    /// <summary>Trades (possibly none: an empty snapshot).</summary>
    Trades,

    /// <summary>A heartbeat or pong: proof of life, nothing else.</summary>
    Heartbeat,

    /// <summary>A subscription acknowledgement or other status the venue sends.</summary>
    Control,

    /// <summary>Well-formed, but a message type this protocol does not know.</summary>
    Unknown,

    /// <summary>Not what the venue documents (bad JSON, a missing field, a bad number).</summary>
    Malformed,

    /// <summary>The venue reports an error (bad symbol, auth failed, rate limit).</summary>
    VenueError,
}

/// <summary>The kind of a decoded message, with a one-line detail for the non-data kinds worth logging.</summary>
public readonly record struct DecodeOutcome(DecodeKind Kind, string? Detail = null)
{
    public static DecodeOutcome Trades { get; } = new(DecodeKind.Trades);

    public static DecodeOutcome Heartbeat { get; } = new(DecodeKind.Heartbeat);

    public static DecodeOutcome Control { get; } = new(DecodeKind.Control);

    public static DecodeOutcome Malformed(string detail) => new(DecodeKind.Malformed, detail);

    public static DecodeOutcome Unknown(string detail) => new(DecodeKind.Unknown, detail);

    public static DecodeOutcome VenueError(string detail) => new(DecodeKind.VenueError, detail);
}
