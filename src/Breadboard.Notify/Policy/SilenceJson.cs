using System.Text.Json;
using Breadboard.Core.Model;

namespace Breadboard.Notify.Policy;

/// <summary>
/// The JSON shape of a silence, shared by every store and the API: <c>id, rule, symbol, channel, starts_at, ends_at,
/// created_by, comment</c>, times as ISO-8601 UTC with milliseconds, absent matchers as null.
/// </summary>
public static class SilenceJson
{
    public static byte[] Serialize(Silence silence)
    {
        ArgumentNullException.ThrowIfNull(silence);
        using var stream = new MemoryStream(256);
        using (var writer = new Utf8JsonWriter(stream))
        {
            Write(writer, silence);
        }

        return stream.ToArray();
    }

    /// <summary>Reads one silence written by <see cref="Serialize"/>; on failure a one-line reason starting with <c>silence:</c>.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out Silence? silence, out string? error)
    {
        silence = null;
        try
        {
            using var document = JsonDocument.Parse(utf8.ToArray());
            return TryRead(document.RootElement, out silence, out error);
        }
        catch (JsonException e)
        {
            error = $"silence: not JSON: {FirstSentence(e.Message)}";
            return false;
        }
    }

    internal static void Write(Utf8JsonWriter writer, Silence silence)
    {
        writer.WriteStartObject();
        writer.WriteString("id", silence.Id);
        writer.WriteString("rule", silence.Rule);
        writer.WriteString("symbol", silence.Symbol);
        writer.WriteString("channel", silence.Channel);
        writer.WriteString("starts_at", EventTime.ToIso(EventTime.FromDateTimeOffset(silence.StartsAt)));
        writer.WriteString("ends_at", EventTime.ToIso(EventTime.FromDateTimeOffset(silence.EndsAt)));
        writer.WriteString("created_by", silence.CreatedBy);
        writer.WriteString("comment", silence.Comment);
        writer.WriteEndObject();
    }

    /// <summary>
    /// Checks the shape and the matchers, not that <c>ends_at</c> is after <c>starts_at</c>: an expired pending silence
    /// has them equal, and a silence that can never be active is harmless, whereas one without matchers would mute everything.
    /// </summary>
    internal static bool TryRead(JsonElement root, out Silence? silence, out string? error)
    {
        silence = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "silence: must be a JSON object";
            return false;
        }

        if (!TryString(root, "id", required: true, out var id, out error)
            || !TryString(root, "rule", required: false, out var rule, out error)
            || !TryString(root, "symbol", required: false, out var symbol, out error)
            || !TryString(root, "channel", required: false, out var channel, out error)
            || !TryTime(root, "starts_at", out var startsAt, out error)
            || !TryTime(root, "ends_at", out var endsAt, out error)
            || !TryString(root, "created_by", required: false, out var createdBy, out error)
            || !TryString(root, "comment", required: false, out var comment, out error))
        {
            return false;
        }

        error = Silence.ValidateMatchers(rule, symbol, channel);
        if (error is not null)
        {
            return false;
        }

        silence = new Silence
        {
            Id = id!,
            Rule = rule,
            Symbol = symbol,
            Channel = channel,
            StartsAt = startsAt,
            EndsAt = endsAt,
            CreatedBy = createdBy ?? "",
            Comment = comment ?? "",
        };
        return true;
    }

    internal static string FirstSentence(string message) => message.Split('.')[0].ReplaceLineEndings(" ");

    private static bool TryString(JsonElement root, string name, bool required, out string? value, out string? error)
    {
        value = null;
        error = null;
        if (!root.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                error = $"silence: \"{name}\" is required";
                return false;
            }

            return true;
        }

        if (element.ValueKind != JsonValueKind.String || (required && string.IsNullOrEmpty(element.GetString())))
        {
            error = required ? $"silence: \"{name}\" must be a non-empty string" : $"silence: \"{name}\" must be a string or null";
            return false;
        }

        value = element.GetString();
        return true;
    }

    private static bool TryTime(JsonElement root, string name, out DateTimeOffset time, out string? error)
    {
        time = default;
        error = null;
        if (root.TryGetProperty(name, out var element) && element.ValueKind == JsonValueKind.String
            && EventTime.TryParseIso(element.GetString().AsSpan(), out var ms))
        {
            time = EventTime.ToDateTimeOffset(ms);
            return true;
        }

        error = $"silence: \"{name}\" must be an ISO-8601 time with a zone, such as 2026-01-02T14:30:00Z";
        return false;
    }
}
