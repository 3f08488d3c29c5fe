using System.Buffers;
using System.Text.Json;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;

namespace Breadboard.Kafka;

/// <summary>The tick as a Kafka message value: its NDJSON form with a leading schema version, <c>{"v":1,"symbol":…}</c>.</summary>
/// <remarks>
/// Consumers refuse a version they do not know (to the dead-letter topic) instead of guessing at fields; version 1
/// is the replay line format, so any tick file line with "v":1 added is a valid message.
/// </remarks>
public sealed class TickMessages : IDisposable
{
    public const int SchemaVersion = 1;

    // How every message of the current version that this build writes begins (Serialize writes "v" first).
    private static ReadOnlySpan<byte> CurrentVersionPrefix => "{\"v\":1,"u8;

    private readonly ArrayBufferWriter<byte> _buffer = new(256);
    private readonly Utf8JsonWriter _writer;
    private readonly TickJson _parser = new();

    public TickMessages() => _writer = new Utf8JsonWriter(_buffer, new JsonWriterOptions { SkipValidation = true });

    /// <summary>Serialises into a buffer reused by the next call: copy or hand it on before serialising again.</summary>
    public ReadOnlySpan<byte> Serialize(in Tick tick)
    {
        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        _writer.WriteStartObject();
        _writer.WriteNumber("v"u8, SchemaVersion);
        TickJson.WriteFields(_writer, in tick);
        _writer.WriteEndObject();
        _writer.Flush();
        return _buffer.WrittenSpan;
    }

    /// <summary>Parses a message value; on failure returns false with a one-line reason for the dead-letter headers.</summary>
    public bool TryParse(ReadOnlySpan<byte> value, out Tick tick, out string? error)
    {
        // The common case without a second pass over the JSON: a message that opens with "v":1 is of version 1,
        // which is what TryReadVersion would find, since it reads the first "v".
        if (value.StartsWith(CurrentVersionPrefix))
        {
            return _parser.TryParse(value, out tick, out error);
        }

        tick = default;
        if (!TryReadVersion(value, out var version))
        {
            // Malformed JSON reads better as the parser's own reason than as a missing version.
            error = _parser.TryParse(value, out _, out var parseError) ? "no schema version: expected \"v\":1" : parseError;
            return false;
        }

        if (version != SchemaVersion)
        {
            error = $"schema version {version} is not supported (this build reads {SchemaVersion})";
            return false;
        }

        return _parser.TryParse(value, out tick, out error);
    }

    public void Dispose() => _writer.Dispose();

    private static bool TryReadVersion(ReadOnlySpan<byte> value, out long version)
    {
        version = 0;
        try
        {
            var reader = new Utf8JsonReader(value);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isVersion = reader.ValueTextEquals("v"u8);
                reader.Read();
                if (isVersion)
                {
                    return reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out version);
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // Malformed JSON: no version to read.
        }
        catch (InvalidOperationException)
        {
            // A field name with a lone surrogate escape or bytes that are not UTF-8, which the reader only notices
            // when comparing it (found by fuzzing): malformed too, and the tick parser says why.
        }

        return false;
    }
}
