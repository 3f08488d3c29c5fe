namespace Breadboard.Core.Model;

/// <summary>One trade: the engine's input.</summary>
/// <param name="Symbol">Instrument, e.g. BTC-USD or AAPL. Readers intern it, so equal symbols share one string.</param>
/// <param name="Ts">Event time: the venue's trade time, UTC, epoch milliseconds.</param>
/// <param name="Price">Trade price, finite and positive.</param>
/// <param name="Volume">Traded quantity, finite and not negative.</param>
/// <param name="TradeId">The venue's trade id, if it gave one; used for de-duplication.</param>
/// <param name="Exchange">Venue name, if known (interned).</param>
/// <param name="AssetClass">Stock or crypto.</param>
public readonly record struct Tick(
    string Symbol,
    long Ts,
    double Price,
    double Volume,
    TradeId TradeId,
    string? Exchange,
    AssetClass AssetClass);
