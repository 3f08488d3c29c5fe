using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;

namespace Breadboard.ClickHouse;

/// <summary>
/// Bars, alerts and pipeline definitions as <c>RowBinary</c> rows of their tables (<see cref="BarColumns"/>,
/// <see cref="AlertColumns"/>, <see cref="PipelineColumns"/>).
/// </summary>
/// <remarks>Binary, not JSON, so every double arrives bit for bit: ClickHouse 18.16 parses floats in text formats
/// with a fast routine that can be one unit in the last place off (a VWAP of 76.0695184292994 came back as
/// 76.06951842929939), and servers before 23.x have no precise-parsing setting; a definition's YAML goes in as its
/// bytes, with no JSON escapes for the server to decode. Strings are a LEB128 length and
/// UTF-8 bytes, numbers little-endian, a Nullable value a 0/1 null flag first.</remarks>
public static class RecordRows
{
    public const string BarColumns = "symbol, `window`, window_start, window_end, open, high, low, close, volume, vwap, trades, version";

    public const string AlertColumns = "id, rule, symbol, `window`, window_start, window_end, value, threshold, ts, pipeline, version";

    public const string PipelineColumns = "digest, yaml, loaded_at, loader, version";

    public const string Format = "RowBinary";

    public static Task WriteBarsAsync(Stream stream, IReadOnlyList<Bar> bars, ulong version, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(bars);
        var rows = new ArrayBufferWriter<byte>(bars.Count * 128);
        foreach (var bar in bars)
        {
            String(rows, bar.Symbol);
            String(rows, bar.Window);
            Int64(rows, bar.WindowStart);
            Int64(rows, bar.WindowEnd);
            Double(rows, bar.Open);
            Double(rows, bar.High);
            Double(rows, bar.Low);
            Double(rows, bar.Close);
            Double(rows, bar.Volume);
            NullFlag(rows, bar.Vwap is null);
            if (bar.Vwap is { } vwap)
            {
                Double(rows, vwap);
            }

            Int64(rows, bar.Trades);
            UInt64(rows, version);
        }

        return WriteAsync(stream, rows, cancellationToken);
    }

    public static Task WriteAlertsAsync(Stream stream, IReadOnlyList<Alert> alerts, ulong version, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        var rows = new ArrayBufferWriter<byte>(alerts.Count * 128);
        foreach (var alert in alerts)
        {
            String(rows, alert.Id);
            String(rows, alert.Rule);
            String(rows, alert.Symbol);
            String(rows, alert.Window);
            Int64(rows, alert.WindowStart);
            Int64(rows, alert.WindowEnd);
            Double(rows, alert.Value);
            Double(rows, alert.Threshold);
            Int64(rows, alert.Ts);
            NullFlag(rows, alert.Pipeline is null);
            if (alert.Pipeline is { } pipeline)
            {
                String(rows, pipeline);
            }

            UInt64(rows, version);
        }

        return WriteAsync(stream, rows, cancellationToken);
    }

    public static Task WritePipelineAsync(Stream stream, StoredPipeline pipeline, ulong version, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        var rows = new ArrayBufferWriter<byte>(pipeline.Yaml.Length + 128);
        String(rows, pipeline.Digest);
        String(rows, pipeline.Yaml);
        Int64(rows, pipeline.LoadedAt);
        String(rows, pipeline.Loader);
        UInt64(rows, version);
        return WriteAsync(stream, rows, cancellationToken);
    }

    private static async Task WriteAsync(Stream stream, ArrayBufferWriter<byte> rows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        await stream.WriteAsync(rows.WrittenMemory, cancellationToken);
    }

    private static void String(ArrayBufferWriter<byte> rows, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        var span = rows.GetSpan(5 + length);
        var n = 0;
        var remaining = (uint)length;
        do
        {
            var b = (byte)(remaining & 0x7F);
            remaining >>= 7;
            span[n++] = remaining == 0 ? b : (byte)(b | 0x80);
        }
        while (remaining != 0);

        n += Encoding.UTF8.GetBytes(value, span[n..]);
        rows.Advance(n);
    }

    private static void NullFlag(ArrayBufferWriter<byte> rows, bool isNull)
    {
        rows.GetSpan(1)[0] = isNull ? (byte)1 : (byte)0;
        rows.Advance(1);
    }

    private static void Int64(ArrayBufferWriter<byte> rows, long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(rows.GetSpan(8), value);
        rows.Advance(8);
    }

    private static void UInt64(ArrayBufferWriter<byte> rows, ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(rows.GetSpan(8), value);
        rows.Advance(8);
    }

    private static void Double(ArrayBufferWriter<byte> rows, double value)
    {
        BinaryPrimitives.WriteDoubleLittleEndian(rows.GetSpan(8), value);
        rows.Advance(8);
    }
}
