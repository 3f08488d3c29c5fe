using System.Buffers;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;

namespace Breadboard.Kafka;

/// <summary>Bars and alerts as message values on the <c>bars</c> and <c>alerts</c> topics: replay's NDJSON line, without the newline.</summary>
internal static class OutputJson
{
    public static byte[] Bar(Bar bar) => Write(w => w.Write(bar));

    public static byte[] Alert(Alert alert) => Write(w => w.Write(alert));

    private static byte[] Write(Action<RecordWriter> write)
    {
        using var stream = new MemoryStream(256);
        using (var writer = new RecordWriter(stream))
        {
            write(writer);
        }

        return stream.ToArray().AsSpan().TrimEnd((byte)'\n').ToArray();
    }
}
