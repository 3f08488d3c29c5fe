using Breadboard.Core.Model;

namespace Breadboard.Core.Codec;

/// <summary>Parses ticks from CSV rows whose columns a header row names.</summary>
/// <remarks>
/// The header must name symbol, ts, price and volume, and may name trade_id, exchange and asset_class, in any
/// order; other columns are ignored. Cells may be double-quoted (RFC 4180); an empty cell is an absent value.
/// </remarks>
public sealed class TickCsv
{
    private const int MaxColumns = 64;

    private readonly SymbolTable _symbols;
    private readonly SymbolTable _exchanges;
    private readonly int _symbol, _ts, _price, _volume, _tradeId, _exchange, _assetClass;
    private readonly int _columnCount;

    private TickCsv(int[] columns, int columnCount, SymbolTable symbols, SymbolTable exchanges)
    {
        (_symbol, _ts, _price, _volume, _tradeId, _exchange, _assetClass) =
            (columns[0], columns[1], columns[2], columns[3], columns[4], columns[5], columns[6]);
        _columnCount = columnCount;
        _symbols = symbols;
        _exchanges = exchanges;
    }

    private static readonly string[] Known = ["symbol", "ts", "price", "volume", "trade_id", "exchange", "asset_class"];

    /// <summary>Reads the header row; fails with a reason when a required column is missing.</summary>
    public static bool TryCreate(ReadOnlySpan<byte> header, out TickCsv? parser, out string? error, SymbolTable? symbols = null, SymbolTable? exchanges = null)
    {
        parser = null;
        var columns = new[] { -1, -1, -1, -1, -1, -1, -1 };
        Span<Range> cells = stackalloc Range[MaxColumns];
        var count = Split(header, cells);
        if (count < 0)
        {
            error = $"the header has more than {MaxColumns} columns or an unclosed quote";
            return false;
        }

        for (var c = 0; c < count; c++)
        {
            var name = System.Text.Encoding.UTF8.GetString(Unquote(header[cells[c]])).Trim();
            var k = Array.FindIndex(Known, n => n.Equals(name, StringComparison.OrdinalIgnoreCase));
            if (k >= 0)
            {
                if (columns[k] >= 0)
                {
                    error = $"the header names column '{Known[k]}' twice";
                    return false;
                }

                columns[k] = c;
            }
        }

        for (var k = 0; k < 4; k++)
        {
            if (columns[k] < 0)
            {
                error = $"the header has no '{Known[k]}' column (it needs symbol, ts, price and volume)";
                return false;
            }
        }

        parser = new TickCsv(columns, count, symbols ?? new SymbolTable(), exchanges ?? new SymbolTable());
        error = null;
        return true;
    }

    /// <summary>Parses one data row; on failure returns false with a one-line reason.</summary>
    public bool TryParse(ReadOnlySpan<byte> row, out Tick tick, out string? error)
    {
        tick = default;
        Span<Range> cells = stackalloc Range[MaxColumns];
        var count = Split(row, cells);
        if (count < 0)
        {
            error = "malformed CSV row: too many columns or an unclosed quote";
            return false;
        }

        if (count != _columnCount)
        {
            error = $"expected {_columnCount} columns as in the header, got {count}";
            return false;
        }

        var symbol = _symbols.Intern(Unquote(row[cells[_symbol]]));
        if (symbol is null)
        {
            error = Unquote(row[cells[_symbol]]).IsEmpty ? "missing field 'symbol'" : "field 'symbol' must be a non-empty string of at most 64 characters without spaces";
            return false;
        }

        var tsCell = Unquote(row[cells[_ts]]);
        if (tsCell.IsEmpty)
        {
            error = "missing field 'ts'";
            return false;
        }

        if (!TickJson.TryParseTs(tsCell, out var ts))
        {
            error = "field 'ts' must be an ISO-8601 time with a zone (2026-01-02T14:30:00.123Z) or epoch milliseconds";
            return false;
        }

        var priceCell = Unquote(row[cells[_price]]);
        if (priceCell.IsEmpty)
        {
            error = "missing field 'price'";
            return false;
        }

        if (!TickJson.TryParseNumber(priceCell, out var price))
        {
            error = $"field 'price' must be {TickLimits.PriceRule}";
            return false;
        }

        var volumeCell = Unquote(row[cells[_volume]]);
        if (volumeCell.IsEmpty)
        {
            error = "missing field 'volume'";
            return false;
        }

        if (!TickJson.TryParseNumber(volumeCell, out var volume))
        {
            error = $"field 'volume' must be {TickLimits.VolumeRule}";
            return false;
        }

        error = TickLimits.Check(price, volume);
        if (error is not null)
        {
            return false;
        }

        var tradeId = TradeId.None;
        if (_tradeId >= 0 && Unquote(row[cells[_tradeId]]) is { IsEmpty: false } idCell)
        {
            tradeId = TradeId.FromUtf8(idCell);
        }

        string? exchange = null;
        if (_exchange >= 0 && Unquote(row[cells[_exchange]]) is { IsEmpty: false } exchangeCell)
        {
            exchange = _exchanges.Intern(exchangeCell);
            if (exchange is null)
            {
                error = "field 'exchange' must be a short string";
                return false;
            }
        }

        var assetClass = AssetClasses.Infer(symbol);
        if (_assetClass >= 0 && Unquote(row[cells[_assetClass]]) is { IsEmpty: false } classCell)
        {
            if (!TickJson.TryParseAssetClass(classCell, out assetClass))
            {
                error = "field 'asset_class' must be \"stock\" or \"crypto\"";
                return false;
            }
        }

        tick = new Tick(symbol, ts, price, volume, tradeId, exchange, assetClass);
        error = null;
        return true;
    }

    /// <summary>Splits a row on commas outside quotes; returns the cell count, or −1 when malformed.</summary>
    private static int Split(ReadOnlySpan<byte> row, Span<Range> cells)
    {
        var count = 0;
        var start = 0;
        var quoted = false;
        for (var i = 0; i <= row.Length; i++)
        {
            if (i < row.Length)
            {
                var b = row[i];
                if (b == (byte)'"')
                {
                    quoted = !quoted;
                    continue;
                }

                if (b != (byte)',' || quoted)
                {
                    continue;
                }
            }

            if (count == cells.Length)
            {
                return -1;
            }

            cells[count++] = new Range(start, i);
            start = i + 1;
        }

        return quoted ? -1 : count;
    }

    /// <summary>Trims spaces and one pair of surrounding quotes. Doubled quotes inside are kept as they are, which no valid tick field contains.</summary>
    private static ReadOnlySpan<byte> Unquote(ReadOnlySpan<byte> cell)
    {
        cell = cell.Trim((byte)' ');
        return cell.Length >= 2 && cell[0] == (byte)'"' && cell[^1] == (byte)'"' ? cell[1..^1] : cell;
    }
}
