using System.Text;
using Breadboard.Core.Model;

namespace Breadboard.Core.Engine;

/// <summary>Checkpoints: the whole engine state as bytes, so a restarted process continues exactly where it was.</summary>
public sealed partial class WindowEngine
{
    private const int CheckpointMagic = 0x4B434242; // "BBCK"
    // 2 added the future guard's state (refusal counts, the jump floor, held ticks); 1 is read as having none.
    // 3 added the definition itself (its YAML), so that a checkpoint restores under an edited one (PipelineChange).
    private const int CheckpointVersion = 3;

    /// <summary>
    /// Writes the engine's state. Restoring it with <see cref="Restore"/> and feeding the remaining input gives
    /// exactly the output an uninterrupted engine would have given after this point.
    /// </summary>
    /// <param name="includeTradeIds">
    /// False leaves out the remembered trade ids, which grow with the dedup horizon × the tick rate; the caller
    /// then keeps them elsewhere (every accepted tick is in the store) and hands them back through
    /// <see cref="RememberTradeId"/> after restoring.
    /// </param>
    public void Save(Stream stream, bool includeTradeIds = true)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(CheckpointMagic);
        w.Write(CheckpointVersion);
        w.Write(_definition.Fingerprint());
        w.Write(_yaml ??= Pipeline.PipelineLoader.ToYaml(_definition));
        w.Write(_maxTs);
        w.Write(_watermark);
        w.Write(Ticks);
        w.Write(Duplicates);
        w.Write(Late);
        w.Write(BarsEmitted);
        w.Write(AlertsEmitted);
        w.Write(Refused);
        w.Write(RefusedFuture);
        w.Write(_jumpFloor);
        w.Write(_contradictions);
        w.Write(_position);
        w.Write(_held.Count);
        foreach (var h in _held)
        {
            WriteTick(w, h.Tick);
            w.Write(h.Position);
        }

        var symbols = _symbols.Keys.ToArray();
        Array.Sort(symbols, StringComparer.Ordinal);
        w.Write(symbols.Length);
        foreach (var symbol in symbols)
        {
            var state = _symbols[symbol];
            w.Write(symbol);

            w.Write(includeTradeIds ? state.SeenOrder.Count : 0);
            if (includeTradeIds)
            {
                foreach (var (id, ts) in state.SeenOrder)
                {
                    WriteTradeId(w, id);
                    w.Write(ts);
                }
            }

            for (var i = 0; i < _windows.Length; i++)
            {
                var open = state.Open[i];
                w.Write(open.Count);
                foreach (var s in open)
                {
                    w.Write(s.Start);
                    w.Write(s.End);
                    w.Write(s.OpenTs);
                    w.Write(s.CloseTs);
                    w.Write(s.Open);
                    w.Write(s.High);
                    w.Write(s.Low);
                    w.Write(s.Close);
                    w.Write(s.Volume);
                    w.Write(s.PriceVolume);
                    w.Write(s.Trades);
                }
            }

            for (var r = 0; r < _rules.Length; r++)
            {
                _rules[r].Kind.WriteState(w, state.RuleStates[r]);
            }

            // Only pipelines with indicators write this, so checkpoints of those without read as before.
            state.Indicators?.Write(w);
        }
    }

    /// <summary>
    /// Rebuilds an engine from <see cref="Save"/>'s bytes. Saved under another definition that differs only in rules
    /// and indicators, it is restored under that one and reconfigured (<see cref="Reconfigure"/>): what did not
    /// change keeps its state.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not a checkpoint, or were written under a definition whose windows or event-time settings differ.</exception>
    /// <param name="wallClock">As for the constructor: the clock of a live face, or null.</param>
    /// <param name="recentBars">
    /// Bars that closed before the checkpoint (from the store), oldest first, for <see cref="RememberBar"/>; a
    /// checkpoint does not carry them, and rules and indicators of an edited definition warm up from them.
    /// </param>
    public static WindowEngine Restore(Pipeline.PipelineDefinition definition, IEngineOutput output, Stream stream, TimeProvider? wallClock = null, IEnumerable<Bar>? recentBars = null)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ArgumentNullException.ThrowIfNull(stream);
        using var r = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        WindowEngine engine;
        try
        {
            if (r.ReadInt32() != CheckpointMagic)
            {
                throw new InvalidDataException("not a Breadboard engine checkpoint");
            }

            var version = r.ReadInt32();
            if (version is < 1 or > CheckpointVersion)
            {
                throw new InvalidDataException($"checkpoint version {version} is not supported (expected {CheckpointVersion})");
            }

            var fingerprint = r.ReadString();
            var yaml = version >= 3 ? r.ReadString() : null;
            var saved = fingerprint == definition.Fingerprint() ? definition : yaml is null ? null : SavedDefinition(yaml);
            if (saved is null)
            {
                throw new InvalidDataException("the checkpoint was taken under a different pipeline definition; delete it to start over");
            }
            else if (Pipeline.PipelineChange.Refusal(saved, definition) is { } refusal)
            {
                throw new InvalidDataException($"the checkpoint was taken under a different pipeline definition: {refusal}; delete it to start over");
            }

            engine = new WindowEngine(saved, output, wallClock);
            engine._maxTs = r.ReadInt64();
            engine._watermark = r.ReadInt64();
            engine.Ticks = r.ReadInt64();
            engine.Duplicates = r.ReadInt64();
            engine.Late = r.ReadInt64();
            engine.BarsEmitted = r.ReadInt64();
            engine.AlertsEmitted = r.ReadInt64();
            if (version >= 2)
            {
                engine.Refused = r.ReadInt64();
                engine.RefusedFuture = r.ReadInt64();
                engine._jumpFloor = r.ReadInt64();
                engine._contradictions = r.ReadInt32();
                engine._position = r.ReadInt64();
                var held = r.ReadInt32();
                for (var k = 0; k < held; k++)
                {
                    engine._held.Add(new HeldTick(ReadTick(r), r.ReadInt64()));
                }
            }

            var symbolCount = r.ReadInt32();
            for (var n = 0; n < symbolCount; n++)
            {
                var state = engine.SymbolOf(string.Intern(r.ReadString()));

                var seen = r.ReadInt32();
                for (var k = 0; k < seen; k++)
                {
                    var id = ReadTradeId(r);
                    var ts = r.ReadInt64();
                    state.SeenOrder.Enqueue((id, ts));
                    state.Seen[id] = ts; // later entries for an id overwrite earlier ones, as they did live
                }

                for (var i = 0; i < engine._windows.Length; i++)
                {
                    var count = r.ReadInt32();
                    for (var k = 0; k < count; k++)
                    {
                        var s = new WindowState
                        {
                            Owner = state,
                            WindowIndex = i,
                            Start = r.ReadInt64(),
                            End = r.ReadInt64(),
                            OpenTs = r.ReadInt64(),
                            CloseTs = r.ReadInt64(),
                            Open = r.ReadDouble(),
                            High = r.ReadDouble(),
                            Low = r.ReadDouble(),
                            Close = r.ReadDouble(),
                            Volume = r.ReadDouble(),
                            PriceVolume = r.ReadDouble(),
                            Trades = r.ReadInt64(),
                        };
                        engine.Open(state.Open[i], state.Open[i].Count, s);
                    }
                }

                for (var k = 0; k < engine._rules.Length; k++)
                {
                    state.RuleStates[k] = engine._rules[k].Kind.ReadState(r, engine._rules[k]);
                }

                state.Indicators?.Read(r);
            }
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("the checkpoint is truncated", e);
        }

        foreach (var bar in recentBars ?? [])
        {
            engine.RememberBar(bar);
        }

        if (!ReferenceEquals(engine._definition, definition))
        {
            engine.Reconfigure(definition);
        }

        return engine;
    }

    private static Pipeline.PipelineDefinition SavedDefinition(string yaml)
    {
        try
        {
            return Pipeline.PipelineLoader.Parse(yaml, "the checkpoint's pipeline definition");
        }
        catch (Pipeline.PipelineConfigException e)
        {
            throw new InvalidDataException($"the checkpoint's pipeline definition does not load ({e.Errors[0]}); delete it to start over", e);
        }
    }

    /// <summary>The symbols the engine has state for, e.g. to reload their trade ids after a restore.</summary>
    public IReadOnlyCollection<string> Symbols => _symbols.Keys;

    /// <summary>Ticks older than this cannot make a later tick a duplicate; <see cref="long.MinValue"/> before the first tick.</summary>
    public long TradeIdHorizonStart => _maxTs == long.MinValue ? long.MinValue : _maxTs - _dedupHorizon;

    /// <summary>
    /// Remembers that a tick with this trade id was taken at <paramref name="ts"/>, as <see cref="Process"/> would
    /// have: for restoring from a checkpoint saved without trade ids. Give ids in the order their ticks arrived.
    /// </summary>
    public void RememberTradeId(string symbol, TradeId id, long ts)
    {
        ArgumentNullException.ThrowIfNull(symbol);
        if (!id.HasValue)
        {
            return;
        }

        var state = SymbolOf(symbol);
        state.Seen[id] = ts;
        state.SeenOrder.Enqueue((id, ts));
    }

    private static void WriteTradeId(BinaryWriter w, TradeId id)
    {
        if (id.IsNumber)
        {
            w.Write((byte)1);
            w.Write(id.Number);
        }
        else
        {
            w.Write((byte)2);
            w.Write(id.ToString()!);
        }
    }

    private static void WriteTick(BinaryWriter w, in Tick tick)
    {
        w.Write(tick.Symbol);
        w.Write(tick.Ts);
        w.Write(tick.Price);
        w.Write(tick.Volume);
        w.Write(tick.TradeId.HasValue);
        if (tick.TradeId.HasValue)
        {
            WriteTradeId(w, tick.TradeId);
        }

        w.Write(tick.Exchange ?? "");
        w.Write((byte)tick.AssetClass);
    }

    private static Tick ReadTick(BinaryReader r)
    {
        var symbol = string.Intern(r.ReadString());
        var ts = r.ReadInt64();
        var price = r.ReadDouble();
        var volume = r.ReadDouble();
        var id = r.ReadBoolean() ? ReadTradeId(r) : TradeId.None;
        var exchange = r.ReadString();
        return new Tick(symbol, ts, price, volume, id, exchange.Length == 0 ? null : string.Intern(exchange), (AssetClass)r.ReadByte());
    }

    private static TradeId ReadTradeId(BinaryReader r) => r.ReadByte() switch
    {
        1 => TradeId.FromNumber(r.ReadInt64()),
        2 => TradeId.FromText(r.ReadString()),
        var kind => throw new InvalidDataException($"bad trade id kind {kind} in checkpoint"),
    };
}
