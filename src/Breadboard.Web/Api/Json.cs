using System.Text.Json;
using System.Text.Json.Serialization;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;

namespace Breadboard.Web.Api;

/// <summary>The API's JSON shapes: the model's fields in snake_case with ISO-8601 UTC times, as replay writes them.</summary>
internal static class Json
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new FiniteDoubleConverter() },
    };

    /// <summary>Writes a number, or null when it is NaN or infinite (which JSON cannot hold).</summary>
    public static void WriteNumber(Utf8JsonWriter writer, ReadOnlySpan<byte> name, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumber(name, value);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    /// <param name="indicators">The window's indicator values on this closed bar, by name; null to leave the field out.</param>
    public static void WriteBar(Utf8JsonWriter writer, Bar bar, IReadOnlyDictionary<string, double>? indicators = null) =>
        JsonSerializer.Serialize(writer, BarJson.From(bar) with { Indicators = indicators }, Options);

    public static void WriteAlert(Utf8JsonWriter writer, Alert alert) => JsonSerializer.Serialize(writer, AlertJson.From(alert), Options);
}

/// <summary>
/// Doubles as JSON numbers, and NaN or ±Infinity as null: the serializer would throw on them, and an old database
/// can hold them, so one bad row would otherwise fail a whole answer (or, on the live stream, the pipeline thread).
/// </summary>
internal sealed class FiniteDoubleConverter : JsonConverter<double>
{
    public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDouble();

    public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (double.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}

public sealed record BarJson(string Symbol, string Window, string WindowStart, string WindowEnd, double Open, double High, double Low, double Close, double Volume, double? Vwap, long Trades)
{
    public static BarJson From(Bar b) => new(b.Symbol, b.Window, EventTime.ToIso(b.WindowStart), EventTime.ToIso(b.WindowEnd), b.Open, b.High, b.Low, b.Close, b.Volume, b.Vwap, b.Trades);

    /// <summary>
    /// The window's indicator values on this bar by name (<c>sma_fast</c>, <c>bb.upper</c>), null where undefined:
    /// on <c>/api/bars?indicators=true</c> and on the stream's closed bars of a window that has indicators; absent otherwise.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, double>? Indicators { get; init; }
}

/// <param name="Value">The rule's measured value; null when undefined (an expression's operand while its indicator warms up).</param>
/// <param name="Threshold">What it was compared with; null when undefined.</param>
/// <param name="Pipeline">The digest of the pipeline definition that fired it; null for alerts stored before alerts carried it.</param>
public sealed record AlertJson(string Id, string Rule, string Symbol, string Window, string WindowStart, string WindowEnd, double? Value, double? Threshold, string Ts, string? Pipeline)
{
    public static AlertJson From(Alert a) => new(a.Id, a.Rule, a.Symbol, a.Window, EventTime.ToIso(a.WindowStart), EventTime.ToIso(a.WindowEnd), Finite(a.Value), Finite(a.Threshold), EventTime.ToIso(a.Ts), a.Pipeline);

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;
}

public sealed record TickJson(string Symbol, string Ts, double Price, double Volume, string? TradeId, string? Exchange, string AssetClass)
{
    public static TickJson From(Tick t) => new(t.Symbol, EventTime.ToIso(t.Ts), t.Price, t.Volume, t.TradeId.HasValue ? t.TradeId.ToString() : null, t.Exchange, AssetClasses.Name(t.AssetClass));
}

public sealed record SymbolJson(string Symbol, string AssetClass, double LastPrice, string LastTs, double ReferencePrice, double ChangePercent);

/// <summary>What <c>/api/pipeline</c> and the stream's pipeline messages report.</summary>
public sealed record PipelineStatus(
    bool Running,
    long? Ticks,
    double? TicksPerSecond,
    long? Bars,
    long? Alerts,
    long Late,
    long Duplicates,
    long Rejects,
    long? Future,
    int? Held,
    string? LastReject,
    string? Watermark,
    long? WatermarkLagMs,
    BusStatus Bus,
    IReadOnlyList<BackendStatus> Backends,
    int StreamClients,
    IReadOnlyList<FeedConnectionJson>? Feeds = null,
    PipelineDefinitionJson? Definition = null);

/// <summary>The definition running: its digest (which every alert it fires carries) and when it was loaded.</summary>
public sealed record PipelineDefinitionJson(string Digest, string? LoadedAt, IReadOnlyList<string> Rules, IReadOnlyList<string> Indicators);

/// <summary>
/// What a reload did: applied (the new digest, when, what changed), or refused with every reason, the running
/// definition unchanged.
/// </summary>
public sealed record PipelineReload(bool Applied, string Digest, string? LoadedAt, IReadOnlyList<string> Changes, IReadOnlyList<string> Errors)
{
    /// <summary>The watermark when the engine switched: bars ending after it, and their alerts, are the new definition's.</summary>
    public string? Watermark { get; init; }
}

/// <summary>A live exchange connection's state and counters (<c>up</c>/<c>ingest</c> with <c>--feed coinbase</c> and the like).</summary>
/// <param name="Reconnects">Connections made after the first.</param>
/// <param name="SequenceGaps">Jumps in the venue's own trade or message numbering.</param>
/// <param name="Gaps">Gaps per symbol handed to the backfill (after reconnects and sequence jumps).</param>
public sealed record FeedConnectionJson(
    string Venue,
    string Url,
    bool Connected,
    long Reconnects,
    long Messages,
    double MessagesPerSecond,
    long Trades,
    long Heartbeats,
    long Malformed,
    long Unknown,
    long VenueErrors,
    long SequenceGaps,
    long Gaps,
    string? LastMessage,
    string? LastError);

/// <summary>The bus and, for Kafka, the processor's lag: the worst partition's and each partition's.</summary>
public sealed record BusStatus(string Url, double? LagSeconds, long? LagMessages = null, IReadOnlyList<BusPartitionLag>? Partitions = null);

public sealed record BusPartitionLag(string Topic, int Partition, long LagMessages, double LagSeconds);

/// <summary>A backend's state; <paramref name="Servers"/> lists the servers behind it when there are several
/// (a store URL naming replicas), each up or down, while the backend as a whole answers from those up.</summary>
public sealed record BackendStatus(string Name, string Url, string Status, string? Detail, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ServerStatus>? Servers = null);

/// <summary>One server behind a backend: <c>up</c> or <c>down</c>, why, and since when (ISO-8601).</summary>
public sealed record ServerStatus(string Url, string Status, string? Detail, string? Since);

public sealed record BatchRunJson(string RunId, string Job, string Started, string? Ended, string Status, long Rows, string Error, int Attempt)
{
    public static BatchRunJson From(BatchRun r) => new(r.RunId, r.Job, EventTime.ToIso(r.Started), r.Ended is { } e ? EventTime.ToIso(e) : null, r.Status, r.Rows, r.Error, r.Attempt);
}
