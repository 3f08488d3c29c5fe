using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using CsCheck;
using static Breadboard.Core.Tests.Engine.Kit;

namespace Breadboard.Core.Tests.Engine;

public class CheckpointTests
{
    private static (List<object> Events, long[] Counters) Uninterrupted(PipelineDefinition definition, Tick[] ticks)
    {
        var output = new CollectingOutput();
        var engine = new WindowEngine(definition, output);
        for (var i = 0; i < ticks.Length; i++)
        {
            engine.Process(in ticks[i], i);
        }

        engine.CloseAll();
        return (output.Events, Counters(engine));
    }

    /// <summary>Runs the ticks, saving and restoring into a fresh engine (and a fresh output) at each cut.</summary>
    private static (List<object> Events, long[] Counters) Interrupted(PipelineDefinition definition, Tick[] ticks, int[] cuts)
    {
        var events = new List<object>();
        var output = new CollectingOutput();
        var engine = new WindowEngine(definition, output);
        for (var i = 0; i <= ticks.Length; i++)
        {
            foreach (var _ in cuts.Where(c => c == i))
            {
                using var checkpoint = new MemoryStream();
                engine.Save(checkpoint);
                checkpoint.Position = 0;
                events.AddRange(output.Events);
                output = new CollectingOutput();
                engine = WindowEngine.Restore(definition, output, checkpoint);
                Assert.Equal(checkpoint.Length, checkpoint.Position);
            }

            if (i < ticks.Length)
            {
                engine.Process(in ticks[i], i);
            }
        }

        engine.CloseAll();
        events.AddRange(output.Events);
        return (events, Counters(engine));
    }

    private static long[] Counters(WindowEngine e) =>
        [e.Ticks, e.Duplicates, e.Late, e.BarsEmitted, e.AlertsEmitted, e.Watermark, e.OpenWindows, e.Refused, e.RefusedFuture, e.Held];

    /// <summary>Equality down to the bits of every double: a restored engine must not drift by one ulp.</summary>
    private static bool BitIdentical(object x, object y) => (x, y) switch
    {
        (Bar a, Bar b) =>
            a with { Open = 0, High = 0, Low = 0, Close = 0, Volume = 0, Vwap = null } == b with { Open = 0, High = 0, Low = 0, Close = 0, Volume = 0, Vwap = null }
            && Bits(a.Open) == Bits(b.Open) && Bits(a.High) == Bits(b.High) && Bits(a.Low) == Bits(b.Low)
            && Bits(a.Close) == Bits(b.Close) && Bits(a.Volume) == Bits(b.Volume)
            && a.Vwap.HasValue == b.Vwap.HasValue && Bits(a.Vwap ?? 0) == Bits(b.Vwap ?? 0),
        (Alert a, Alert b) => a with { Value = 0 } == b with { Value = 0 } && Bits(a.Value) == Bits(b.Value),
        (LateTick a, LateTick b) => a == b && Bits(a.Tick.Price) == Bits(b.Tick.Price) && Bits(a.Tick.Volume) == Bits(b.Tick.Volume),
        (RefusedTick a, RefusedTick b) => a == b,
        _ => false,
    };

    private static long Bits(double d) => BitConverter.DoubleToInt64Bits(d);

    private static void AssertSameRun(PipelineDefinition definition, Tick[] ticks, int[] cuts)
    {
        var expected = Uninterrupted(definition, ticks);
        var actual = Interrupted(definition, ticks, cuts);
        for (var i = 0; i < Math.Max(expected.Events.Count, actual.Events.Count); i++)
        {
            var e = i < expected.Events.Count ? expected.Events[i] : null;
            var a = i < actual.Events.Count ? actual.Events[i] : null;
            if (e is null || a is null || !BitIdentical(e, a))
            {
                throw new InvalidOperationException($"cut at {string.Join(", ", cuts)}: output #{i} differs:\n  uninterrupted {e?.ToString() ?? "nothing"}\n  restored      {a?.ToString() ?? "nothing"}");
            }
        }

        Assert.Equal(expected.Counters, actual.Counters);
    }

    /// <summary>
    /// Streams as <see cref="EngineGen.Ticks"/> makes them, some with far-future ticks from a bad clock and some with a
    /// real jump of days, under the future guard; so that ticks held across a checkpoint are covered too.
    /// </summary>
    private static readonly Gen<(PipelineDefinition, Tick[], int[])> Inputs =
        Gen.Select(
                Gen.Frequency((1, Gen.Const(PipelineDefinition.Default)), (3, EngineGen.Definition)),
                EngineGen.Ticks,
                Gen.Int[0, 3],
                Gen.Int[0, 80],
                Gen.Int[2, 4])
            .Select((definition, ticks, kind, at, confirm) =>
            {
                const long Days = 86_400_000;
                definition = definition with { Future = new FutureGuard(0, Days, confirm) };
                at = ticks.Length == 0 ? 0 : at % ticks.Length;
                Tick[] changed = kind switch
                {
                    1 => [.. ticks[..at], Tick("ZED", T0 + (400 * Days), 1), .. ticks[at..]],
                    2 => [.. ticks[..at], .. ticks[at..].Select(t => t with { Ts = t.Ts + (3 * Days) })],
                    3 => [.. ticks[..at], Tick("ZED", T0 + (400 * Days), 1), .. ticks[at..].Select(t => t with { Ts = t.Ts + (3 * Days) })],
                    _ => ticks,
                };
                return (definition, changed);
            })
            .SelectMany((definition, ticks) => Gen.Int[0, ticks.Length].Array[1, 3].Select(cuts => (definition, ticks, cuts)));

    [Fact]
    public void Restore_AfterSaveAtAnyPoint_ContinuesExactlyAsTheUninterruptedEngine() =>
        Inputs.Sample(
            (definition, ticks, cuts) => AssertSameRun(definition, ticks, cuts),
            iter: 10_000,
            print: input => $"cuts {string.Join(", ", input.Item3)}\n{EngineGen.Print(input.Item1, input.Item2)}");

    [Fact]
    public void Restore_WithSessionsMidMergeAndSurgeHistory_ContinuesExactly()
    {
        var definition = Definition(
            60_000,
            [WindowDefinition.Session("s", 30_000), WindowDefinition.Tumbling("1m", Minute)],
            [RuleDefinition.VolumeSurge("surge", "1m", 2, 2)]);
        Tick[] ticks =
        [
            Tick("AAPL", T0, 1, 1, 1),
            Tick("AAPL", T0 + 50_000, 3, 2, "x"),
            Tick("AAPL", T0 + 70_000, 3, 2),
            Tick("AAPL", T0 + 130_000, 3, 0.1),
            Tick("AAPL", T0 + 25_000, 2, 4, 1),
            Tick("AAPL", T0 + 25_000, 2, 4, "x"),
            Tick("AAPL", T0 + 250_000, 2, 9),
        ];

        for (var cut = 0; cut <= ticks.Length; cut++)
        {
            AssertSameRun(definition, ticks, [cut]);
        }
    }

    [Fact]
    public void Restore_UnderADifferentDefinition_ThrowsInvalidData()
    {
        var (engine, _) = NewEngine(PipelineDefinition.Default);
        engine.Feed(Tick("AAPL", T0, 1));
        using var checkpoint = new MemoryStream();
        engine.Save(checkpoint);

        var other = PipelineDefinition.Default with { OutOfOrdernessMs = 6_000 };
        checkpoint.Position = 0;

        Assert.Throws<InvalidDataException>(() => WindowEngine.Restore(other, new CollectingOutput(), checkpoint));
    }

    [Fact]
    public void Restore_WithRuleThresholdChanged_RunsTheNewRule_AndWithWindowChanged_ThrowsInvalidData()
    {
        var (engine, _) = NewEngine(PipelineDefinition.Default);
        engine.Feed(Tick("AAPL", T0, 100, 1));
        using var checkpoint = new MemoryStream();
        engine.Save(checkpoint);

        var rules = PipelineDefinition.Default.Rules.ToArray();
        rules[0] = rules[0] with { Threshold = -4 };
        var edited = PipelineDefinition.Default with { Rules = rules };
        checkpoint.Position = 0;
        var restored = WindowEngine.Restore(edited, new CollectingOutput(), checkpoint);
        Assert.Same(edited, restored.Definition);
        Assert.True(restored.OpenWindows >= 1, "the open windows of the checkpoint were restored");

        var windows = PipelineDefinition.Default.Windows.ToArray();
        windows[0] = windows[0] with { SizeMs = windows[0].SizeMs * 2, SlideMs = windows[0].SlideMs * 2 };
        checkpoint.Position = 0;
        var e = Assert.Throws<InvalidDataException>(() => WindowEngine.Restore(PipelineDefinition.Default with { Windows = windows }, new CollectingOutput(), checkpoint));
        Assert.Contains("'windows' cannot change", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Restore_FromTruncatedCheckpoint_ThrowsInvalidDataAtEveryLength()
    {
        var (engine, _) = NewEngine(PipelineDefinition.Default);
        engine.Feed(
            Tick("AAPL", T0, 1, 1, 5),
            Tick("BTC-USD", T0 + 1_000, 2, 1, "abc"),
            Tick("AAPL", T0 + 70_000, 3, 2));
        using var checkpoint = new MemoryStream();
        engine.Save(checkpoint);
        var bytes = checkpoint.ToArray();

        for (var length = 0; length < bytes.Length; length++)
        {
            using var truncated = new MemoryStream(bytes, 0, length);
            var thrown = Record.Exception(() => WindowEngine.Restore(PipelineDefinition.Default, new CollectingOutput(), truncated));
            Assert.True(thrown is InvalidDataException, $"cut to {length} of {bytes.Length} bytes: {thrown?.GetType().Name ?? "no exception"}");
        }
    }

    [Fact]
    public void Restore_FromBytesThatAreNoCheckpoint_ThrowsInvalidData()
    {
        using var junk = new MemoryStream("{\"not\":\"a checkpoint\"}"u8.ToArray());

        Assert.Throws<InvalidDataException>(() => WindowEngine.Restore(PipelineDefinition.Default, new CollectingOutput(), junk));
    }
}
