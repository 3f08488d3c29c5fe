using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;

namespace Breadboard.Core.Codec;

public enum RecordFormat
{
    Ndjson,
    Csv,
}

/// <summary>
/// Writes bars, alerts, ticks and rejects one per line, as NDJSON (field names as in the model, snake_case,
/// times ISO-8601 UTC with milliseconds) or CSV with the same column names.
/// </summary>
/// <remarks>
/// Output is buffered; <see cref="Flush"/> pushes it to the stream, after which <see cref="BytesWritten"/> is the
/// stream's length as far as this writer is concerned — the value a checkpoint records.
/// </remarks>
public sealed class RecordWriter : IDisposable
{
    private const int FlushThreshold = 1 << 16;

    private static readonly JsonWriterOptions JsonOptions = new()
    {
        // Symbols and reasons stay readable; the output is data, not HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    private readonly Stream _stream;
    private readonly RecordFormat _format;
    private readonly Aggregate[] _aggregates;
    private readonly ArrayBufferWriter<byte> _buffer = new(FlushThreshold * 2);
    private readonly Utf8JsonWriter _json;
    private bool _headerWritten;

    public RecordWriter(Stream stream, RecordFormat format = RecordFormat.Ndjson, IReadOnlyList<Aggregate>? aggregates = null, long startLength = 0)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _format = format;
        _aggregates = aggregates is null ? Enum.GetValues<Aggregate>() : [.. aggregates.Order()];
        _json = new Utf8JsonWriter(_buffer, JsonOptions);
        BytesWritten = startLength;
        _headerWritten = startLength > 0;
    }

    /// <summary>Bytes flushed to the stream, counting from the start length given.</summary>
    public long BytesWritten { get; private set; }

    public long Records { get; private set; }

    public void Write(Bar bar)
    {
        ArgumentNullException.ThrowIfNull(bar);
        if (_format == RecordFormat.Csv)
        {
            Header(BarColumns());
            Csv(bar.Symbol, ',');
            Csv(bar.Window, ',');
            Csv(EventTime.ToIso(bar.WindowStart), ',');
            Csv(EventTime.ToIso(bar.WindowEnd), _aggregates.Length == 0 ? '\n' : ',');
            for (var i = 0; i < _aggregates.Length; i++)
            {
                var last = i == _aggregates.Length - 1 ? '\n' : ',';
                Csv(FormatAggregate(bar, _aggregates[i]), last);
            }
        }
        else
        {
            _json.WriteStartObject();
            _json.WriteString("symbol"u8, bar.Symbol);
            _json.WriteString("window"u8, bar.Window);
            Time("window_start"u8, bar.WindowStart);
            Time("window_end"u8, bar.WindowEnd);
            foreach (var a in _aggregates)
            {
                switch (a)
                {
                    case Aggregate.Open: _json.WriteNumber("open"u8, bar.Open); break;
                    case Aggregate.High: _json.WriteNumber("high"u8, bar.High); break;
                    case Aggregate.Low: _json.WriteNumber("low"u8, bar.Low); break;
                    case Aggregate.Close: _json.WriteNumber("close"u8, bar.Close); break;
                    case Aggregate.Volume: _json.WriteNumber("volume"u8, bar.Volume); break;
                    case Aggregate.Vwap:
                        if (bar.Vwap is { } vwap)
                        {
                            _json.WriteNumber("vwap"u8, vwap);
                        }
                        else
                        {
                            _json.WriteNull("vwap"u8);
                        }

                        break;
                    case Aggregate.Trades: _json.WriteNumber("trades"u8, bar.Trades); break;
                }
            }

            EndJson();
        }

        Completed();
    }

    public void Write(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        if (_format == RecordFormat.Csv)
        {
            Header("id,rule,symbol,window,window_start,window_end,value,threshold,ts,pipeline");
            Csv(alert.Id, ',');
            Csv(alert.Rule, ',');
            Csv(alert.Symbol, ',');
            Csv(alert.Window, ',');
            Csv(EventTime.ToIso(alert.WindowStart), ',');
            Csv(EventTime.ToIso(alert.WindowEnd), ',');
            Csv(alert.Value.ToString("R", CultureInfo.InvariantCulture), ',');
            Csv(alert.Threshold.ToString("R", CultureInfo.InvariantCulture), ',');
            Csv(EventTime.ToIso(alert.Ts), ',');
            Csv(alert.Pipeline ?? string.Empty, '\n');
        }
        else
        {
            _json.WriteStartObject();
            _json.WriteString("id"u8, alert.Id);
            _json.WriteString("rule"u8, alert.Rule);
            _json.WriteString("symbol"u8, alert.Symbol);
            _json.WriteString("window"u8, alert.Window);
            Time("window_start"u8, alert.WindowStart);
            Time("window_end"u8, alert.WindowEnd);
            NumberOrNull("value"u8, alert.Value);
            NumberOrNull("threshold"u8, alert.Threshold);
            Time("ts"u8, alert.Ts);

            // Absent rather than null when unknown, so that lines written before alerts were stamped stay byte for byte.
            if (alert.Pipeline is { } pipeline)
            {
                _json.WriteString("pipeline"u8, pipeline);
            }

            EndJson();
        }

        Completed();
    }

    /// <summary>Writes a tick in its canonical NDJSON form; with a watermark, as a late tick.</summary>
    public void Write(in Tick tick, long? watermark = null)
    {
        _json.WriteStartObject();
        TickJson.WriteFields(_json, in tick);
        if (watermark is { } w)
        {
            Time("watermark"u8, w);
        }

        EndJson();
        Completed();
    }

    public void Write(Reject reject)
    {
        ArgumentNullException.ThrowIfNull(reject);
        _json.WriteStartObject();
        _json.WriteNumber("line"u8, reject.Line);
        _json.WriteString("reason"u8, reject.Reason);
        _json.WriteString("input"u8, reject.Raw);
        EndJson();
        Completed();
    }

    /// <summary>Pushes buffered records to the stream and flushes it.</summary>
    public void Flush()
    {
        Drain();
        _stream.Flush();
    }

    public void Dispose()
    {
        Flush();
        _json.Dispose();
    }

    private string BarColumns()
    {
        var names = new List<string> { "symbol", "window", "window_start", "window_end" };
        foreach (var a in _aggregates)
        {
            names.Add(a.ToString().ToLowerInvariant());
        }

        return string.Join(',', names);
    }

    private static string FormatAggregate(Bar bar, Aggregate aggregate) => aggregate switch
    {
        Aggregate.Open => bar.Open.ToString("R", CultureInfo.InvariantCulture),
        Aggregate.High => bar.High.ToString("R", CultureInfo.InvariantCulture),
        Aggregate.Low => bar.Low.ToString("R", CultureInfo.InvariantCulture),
        Aggregate.Close => bar.Close.ToString("R", CultureInfo.InvariantCulture),
        Aggregate.Volume => bar.Volume.ToString("R", CultureInfo.InvariantCulture),
        Aggregate.Vwap => bar.Vwap?.ToString("R", CultureInfo.InvariantCulture) ?? string.Empty,
        Aggregate.Trades => bar.Trades.ToString(CultureInfo.InvariantCulture),
        _ => throw new ArgumentOutOfRangeException(nameof(aggregate)),
    };

    private void Time(ReadOnlySpan<byte> name, long ms) => TickJson.WriteTime(_json, name, ms);

    private void EndJson()
    {
        _json.WriteEndObject();
        _json.Flush();
        _json.Reset();
        _buffer.Write("\n"u8);
    }

    private void Header(string columns)
    {
        if (_headerWritten)
        {
            return;
        }

        _headerWritten = true;
        Csv(columns, '\n', quote: false);
    }

    private void Csv(string value, char terminator, bool quote = true)
    {
        var needsQuotes = quote && value.AsSpan().IndexOfAny(",\"\n\r") >= 0;
        var text = needsQuotes ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
        var span = _buffer.GetSpan(System.Text.Encoding.UTF8.GetMaxByteCount(text.Length) + 1);
        var n = System.Text.Encoding.UTF8.GetBytes(text, span);
        span[n] = (byte)terminator;
        _buffer.Advance(n + 1);
    }

    private void Completed()
    {
        Records++;
        if (_buffer.WrittenCount >= FlushThreshold)
        {
            Drain();
        }
    }

    private void Drain()
    {
        if (_buffer.WrittenCount == 0)
        {
            return;
        }

        _stream.Write(_buffer.WrittenSpan);
        BytesWritten += _buffer.WrittenCount;
        _buffer.ResetWrittenCount();
    }

    // An expression rule's operand can be undefined on the bar it fires on (an or of which the other side held):
    // NaN in memory, null in JSON, which has no NaN.
    private void NumberOrNull(ReadOnlySpan<byte> name, double value)
    {
        if (double.IsFinite(value))
        {
            _json.WriteNumber(name, value);
        }
        else
        {
            _json.WriteNull(name);
        }
    }
}

/// <summary>An <see cref="IEngineOutput"/> that writes bars, alerts, late ticks and the engine's refusals to record writers.</summary>
/// <remarks>A refusal is written as a reject whose line is the position the tick was given with, and whose input is the tick's line.</remarks>
public sealed class RecordingOutput(RecordWriter bars, RecordWriter alerts, RecordWriter? late, RecordWriter? rejects = null) : IEngineOutput
{
    public void OnBar(Bar bar) => bars.Write(bar);

    public void OnAlert(Alert alert) => alerts.Write(alert);

    public void OnLate(in Tick tick, long watermark) => late?.Write(in tick, watermark);

    public void OnTick(in Tick tick, long position)
    {
    }

    public void OnReject(in Tick tick, long position, string reason) => rejects?.Write(new Reject(position, reason, TickJson.ToJson(in tick)));
}
