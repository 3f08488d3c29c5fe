using System.Text;
using Breadboard.Core.Codec;
using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Feeds.Live;
using Breadboard.Feeds.Live.Alpaca;
using Breadboard.Feeds.Live.Binance;
using Breadboard.Feeds.Live.Coinbase;
using Breadboard.Feeds.Live.Kraken;
using Breadboard.Kafka;

namespace Breadboard.Fuzz;

/// <summary>One fuzzing target: reads the input as outside input would arrive, and throws only on a bug.</summary>
public delegate void FuzzTarget(ReadOnlySpan<byte> input);

/// <summary>An input broke a promise of the code under test: an exception it must not throw, or a wrong result.</summary>
public sealed class InvariantViolationException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The fuzzing targets, one per parser of outside input. Each throws only for a bug: an exception beyond the ones the
/// parser documents, or a value it accepted that breaks one of the cheap invariants below (so the fuzzer finds logic
/// bugs as well as crashes). The afl++ runs (<c>scripts/fuzz.sh</c>) and the corpus replay test call the same code.
/// </summary>
public static class FuzzTargets
{
    /// <summary>The symbols the venue protocols subscribe to, as the Feeds tests use them.</summary>
    private static readonly string[] CryptoSymbols = ["BTC-USD", "ETH-USD"];

    private static readonly string[] StockSymbols = ["AAPL", "MSFT"];

    /// <summary>Every target by its name, the name of its corpus directory under <c>fuzz/corpus</c>.</summary>
    public static IReadOnlyDictionary<string, FuzzTarget> All { get; } = new Dictionary<string, FuzzTarget>(StringComparer.Ordinal)
    {
        ["tick-json"] = TickJsonLine,
        ["tick-csv"] = TickCsvStream,
        ["tick-stream"] = TickNdjsonStream,
        ["pipeline"] = Pipeline,
        ["coinbase"] = input => Venue(input, () => new CoinbaseProtocol(CryptoSymbols)),
        ["binance"] = input => Venue(input, () => new BinanceProtocol(CryptoSymbols)),
        ["kraken"] = input => Venue(input, () => new KrakenProtocol(CryptoSymbols)),
        ["alpaca"] = input => Venue(input, () => new AlpacaProtocol(StockSymbols, "fuzz-key-id", "fuzz-secret-key")),
        ["sink-records"] = SinkRecords,
    };

    /// <summary>One NDJSON tick line through <see cref="TickJson.TryParse"/>; an accepted tick must write back to itself.</summary>
    public static void TickJsonLine(ReadOnlySpan<byte> input)
    {
        var parser = new TickJson();
        if (!parser.TryParse(input, out var tick, out var error))
        {
            Require(!string.IsNullOrEmpty(error), "TickJson refused a line without a reason");
            return;
        }

        Invariants.Tick(tick, "TickJson");
        var written = Encoding.UTF8.GetBytes(TickJson.ToJson(tick));
        Require(parser.TryParse(written, out var again, out error), $"TickJson refused its own output {Show(written)}: {error}");
        Invariants.SameTick(tick, again, "TickJson.ToJson round trip");
    }

    /// <summary>The input as a CSV tick file (header first) read to the end by <see cref="TickStreamReader"/>.</summary>
    public static void TickCsvStream(ReadOnlySpan<byte> input)
    {
        try
        {
            ReadStream(input, TickFormat.Csv);
        }
        catch (InvalidDataException e) when (e.Message.Contains("header", StringComparison.Ordinal) || e.Message.Contains("column", StringComparison.Ordinal))
        {
            // An unusable header is refused with this exception by design.
        }
    }

    /// <summary>The input as an NDJSON tick file read to the end by <see cref="TickStreamReader"/>.</summary>
    public static void TickNdjsonStream(ReadOnlySpan<byte> input) => ReadStream(input, TickFormat.Ndjson);

    private static void ReadStream(ReadOnlySpan<byte> input, TickFormat format)
    {
        using var stream = new MemoryStream(input.ToArray(), writable: false);
        using var reader = new TickStreamReader(stream, format);
        long lastPosition = 0, lastLine = 0;
        while (true)
        {
            var status = reader.Read(out var tick);
            if (status == ReadStatus.End)
            {
                break;
            }

            Require(reader.Position > lastPosition && reader.Position <= input.Length, $"position {reader.Position} after {lastPosition} in {input.Length} bytes");
            Require(reader.Line > lastLine, $"line {reader.Line} after {lastLine}");
            (lastPosition, lastLine) = (reader.Position, reader.Line);
            if (status == ReadStatus.Tick)
            {
                Invariants.Tick(tick, "TickStreamReader");
            }
            else
            {
                var reject = reader.LastReject;
                Require(reject is not null && reject.Line == reader.Line && !string.IsNullOrEmpty(reject.Reason), "a reject without its line or reason");
                Require(reject!.Raw.Length <= 1024, $"a reject's raw line of {reject.Raw.Length} characters");
            }
        }
    }

    /// <summary>
    /// The input as UTF-8 pipeline text, read as YAML and as JSON; only <see cref="PipelineConfigException"/> may
    /// come out. An accepted definition must be within the bounds and write to YAML that reads back the same.
    /// </summary>
    public static void Pipeline(ReadOnlySpan<byte> input)
    {
        var text = Encoding.UTF8.GetString(input);
        Pipeline(text, "p.yaml");
        Pipeline(text, "p.json");
    }

    private static void Pipeline(string text, string source)
    {
        PipelineDefinition definition;
        try
        {
            definition = PipelineLoader.Parse(text, source);
        }
        catch (PipelineConfigException e)
        {
            Require(e.Errors.Count > 0, $"{source}: a PipelineConfigException without errors");
            return;
        }

        Invariants.Pipeline(definition, source);
        var yaml = PipelineLoader.ToYaml(definition);
        PipelineDefinition again;
        try
        {
            again = PipelineLoader.Parse(yaml, "again.yaml");
        }
        catch (PipelineConfigException e)
        {
            throw new InvariantViolationException($"{source}: PipelineLoader.ToYaml wrote what Parse refuses:\n{yaml}\n{e.Message}", e);
        }

        Require(again.Fingerprint() == definition.Fingerprint(), $"{source}: ToYaml round trip changed the fingerprint:\n{definition.Fingerprint()}\n{again.Fingerprint()}");
        Require(again.Aggregates.SequenceEqual(definition.Aggregates), $"{source}: ToYaml round trip changed the aggregates");

        // The engine runs what the loader accepted: its indicators and conditions evaluate on a few bars of every
        // window without throwing.
        var engine = new WindowEngine(definition, DiscardingOutput.Instance);
        for (var i = 0; i < 64; i++)
        {
            var tick = new Tick("FZ", 1_767_312_000_000 + (i * 37_000L), 100 + (i % 7) - 3, i % 5, TradeId.None, null, AssetClass.Crypto);
            engine.Process(in tick);
        }

        engine.CloseAll();
    }

    private sealed class DiscardingOutput : IEngineOutput
    {
        public static readonly DiscardingOutput Instance = new();

        public void OnBar(Bar bar)
        {
        }

        public void OnAlert(Alert alert)
        {
        }

        public void OnLate(in Tick tick, long watermark)
        {
        }

        public void OnTick(in Tick tick, long position)
        {
        }

        public void OnReject(in Tick tick, long position, string reason)
        {
        }
    }

    /// <summary>
    /// The input as one venue message, then, when it has several lines, as one message per line on a fresh
    /// connection (so sequence numbers across messages are explored). The decoder must never throw, hand on only
    /// valid ticks of subscribed symbols, and give one-line details.
    /// </summary>
    public static void Venue(ReadOnlySpan<byte> input, Func<IVenueProtocol> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        var protocol = create();
        protocol.OnConnected();
        var sink = new CheckingSink(protocol);
        Decode(protocol, input, sink);

        if (input.IndexOf((byte)'\n') < 0)
        {
            return;
        }

        protocol.OnConnected();
        foreach (var range in input.Split((byte)'\n'))
        {
            Decode(protocol, input[range], sink);
        }
    }

    private static void Decode(IVenueProtocol protocol, ReadOnlySpan<byte> message, CheckingSink sink)
    {
        DecodeOutcome outcome;
        try
        {
            outcome = protocol.Decode(message, sink);
        }
        catch (Exception e) when (e is not InvariantViolationException)
        {
            throw new InvariantViolationException($"{protocol.Name}: Decode threw {e.GetType().Name}: {e.Message}", e);
        }

        Require(Enum.IsDefined(outcome.Kind), $"{protocol.Name}: an outcome of kind {(int)outcome.Kind}");
        if (outcome.Kind is DecodeKind.Malformed or DecodeKind.VenueError)
        {
            Require(!string.IsNullOrEmpty(outcome.Detail), $"{protocol.Name}: a {outcome.Kind} outcome without a detail");
        }

        if (outcome.Detail is not null)
        {
            Invariants.OneLine(outcome.Detail, $"{protocol.Name}: the {outcome.Kind} detail");
        }
    }

    /// <summary>
    /// The sink's readers on the input: a bar and an alert as the Kafka bars/alerts topics and replay's files carry
    /// them (<see cref="RecordJson"/>), and a tick as a Kafka message value (<see cref="TickMessages"/>). None may
    /// throw; what they accept must be valid and write back to itself.
    /// </summary>
    public static void SinkRecords(ReadOnlySpan<byte> input)
    {
        if (RecordJson.TryParseBar(input, out var bar, out var error))
        {
            Invariants.Bar(bar!);
            var written = RecordJson.Bar(bar!);
            Require(RecordJson.TryParseBar(written, out var again, out error), $"TryParseBar refused its own output {Show(written)}: {error}");
            Require(again == bar, $"the bar changed on a round trip: {bar} became {again}");
        }
        else
        {
            Require(!string.IsNullOrEmpty(error), "TryParseBar refused a bar without a reason");
        }

        if (RecordJson.TryParseAlert(input, out var alert, out error))
        {
            Invariants.Alert(alert!);
            var written = RecordJson.Alert(alert!);
            Require(RecordJson.TryParseAlert(written, out var again, out error), $"TryParseAlert refused its own output {Show(written)}: {error}");
            Require(again == alert, $"the alert changed on a round trip: {alert} became {again}");
        }
        else
        {
            Require(!string.IsNullOrEmpty(error), "TryParseAlert refused an alert without a reason");
        }

        using var messages = new TickMessages();
        if (messages.TryParse(input, out var tick, out error))
        {
            Invariants.Tick(tick, "TickMessages");
            var written = messages.Serialize(tick).ToArray();
            Require(messages.TryParse(written, out var again, out error), $"TickMessages refused its own output {Show(written)}: {error}");
            Invariants.SameTick(tick, again, "TickMessages.Serialize round trip");
        }
        else
        {
            Require(!string.IsNullOrEmpty(error), "TickMessages refused a message without a reason");
        }
    }

    internal static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvariantViolationException(message);
        }
    }

    internal static string Show(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes.Length > 300 ? bytes[..300] : bytes);

    /// <summary>Checks every trade and gap a protocol hands on.</summary>
    private sealed class CheckingSink(IVenueProtocol protocol) : IFeedSink
    {
        public void Trade(in Tick tick)
        {
            Invariants.Tick(tick, protocol.Name);
            Require(protocol.Symbols.Contains(tick.Symbol), $"{protocol.Name}: a trade of {tick.Symbol}, which is not subscribed");
            Require(tick.Exchange == protocol.Name && tick.AssetClass == protocol.AssetClass, $"{protocol.Name}: a trade of exchange {tick.Exchange}, {tick.AssetClass}");
        }

        public void SequenceGap(string symbol, string detail)
        {
            Require(protocol.Symbols.Contains(symbol), $"{protocol.Name}: a sequence gap of {symbol}, which is not subscribed");
            Require(!string.IsNullOrEmpty(detail), $"{protocol.Name}: a sequence gap without a detail");
            Invariants.OneLine(detail, $"{protocol.Name}: a sequence gap's detail");
        }
    }
}
