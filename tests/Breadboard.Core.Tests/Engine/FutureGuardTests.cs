using Breadboard.Core.Engine;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using CsCheck;
using static Breadboard.Core.Tests.Engine.Kit;

namespace Breadboard.Core.Tests.Engine;

/// <summary>The watermark's guard against ticks from the future: one bad clock is refused, a real jump is taken.</summary>
public class FutureGuardTests
{
    private const long Day = 86_400_000;

    /// <summary>2099-06-01: the bad clock of the issue that asked for this guard.</summary>
    private static readonly long Year2099 = DateTimeOffset.Parse("2099-06-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();

    private static PipelineDefinition Guarded(PipelineDefinition definition, int confirm = 3) =>
        definition with { Future = new FutureGuard(0, Day, confirm) };

    private static (List<object> Events, WindowEngine Engine) Run(PipelineDefinition definition, IEnumerable<Tick> ticks)
    {
        var (engine, output) = NewEngine(definition);
        var position = 0L;
        foreach (var t in ticks)
        {
            engine.Process(in t, ++position);
        }

        engine.CloseAll();
        return (output.Events, engine);
    }

    /// <summary>An unguarded run's events as the guarded <paramref name="definition"/> would give them: its alerts
    /// carry the digest of the definition that fired them, and turning the guard off makes another definition.</summary>
    private static List<object> FiredBy(List<object> events, PipelineDefinition definition) =>
        [.. events.Select(e => e is Alert alert ? alert with { Pipeline = definition.Digest() } : e)];

    private static Tick[] Minutes(string symbol, long from, int count, double price = 100) =>
        [.. Enumerable.Range(0, count).Select(i => Tick(symbol, from + (i * 10_000), price + i))];

    [Fact]
    public void Process_OneTickFrom2099_IsRefusedAndTheTicksAfterItAreNotLate()
    {
        var before = Minutes("AAPL", T0, 10);
        var after = Minutes("AAPL", T0 + 100_000, 30);
        var clean = Run(PipelineDefinition.Default, [.. before, .. after]);

        var (events, engine) = Run(PipelineDefinition.Default, [.. before, Tick("AAPL", Year2099, 1), .. after]);

        var refused = Assert.Single(events.OfType<RefusedTick>());
        Assert.Equal(11, refused.Position);
        Assert.Equal(
            "ts 2099-06-01T00:00:00.000Z jumped more than future.max_jump (1d) ahead of the watermark (2026-01-02T14:34:45.000Z), and the 20 ticks after it did not follow",
            refused.Reason);
        Assert.Equal(clean.Events, events.Where(e => e is not RefusedTick));
        Assert.Equal(0, engine.Late);
        Assert.Equal((1, 1, 0), (engine.Refused, engine.RefusedFuture, engine.Held));
    }

    [Fact]
    public void Process_AWeekendGap_IsTakenOnceConfirmedAndMatchesAnUnguardedRun()
    {
        // Friday's close to Monday's open is 65.5 hours: more than max_jump, and real.
        var friday = Minutes("AAPL", T0, 30);
        var monday = Minutes("AAPL", T0 + (65 * 3_600_000) + 1_800_000, 50);
        var unguarded = Run(PipelineDefinition.Default with { Future = FutureGuard.Off }, [.. friday, .. monday]);

        var (events, engine) = Run(PipelineDefinition.Default, [.. friday, .. monday]);

        Assert.Equal(FiredBy(unguarded.Events, PipelineDefinition.Default), events);
        Assert.Equal((0, 0), (engine.Refused, engine.Held));
    }

    [Fact]
    public void Process_HeldTicks_AreTakenAtThePositionOfTheTickThatConfirmedThem()
    {
        var (engine, output) = NewEngine(Guarded(OneMinute(), confirm: 3));
        engine.Process(Tick("A", T0, 1), 1);

        var outcomes = new[] { 2L, 3L, 4L }.Select(p => engine.Process(Tick("A", T0 + (2 * Day) + p, 1), p)).ToArray();

        Assert.Equal([TickOutcome.Held, TickOutcome.Held, TickOutcome.Held], outcomes);
        Assert.Equal([1L, 4L, 4L, 4L], output.Taken.Select(t => t.Position));
        Assert.Equal(0, engine.Held);
    }

    [Fact]
    public void Process_ABadClockAmongTheTicksThatConfirmAJump_IsHeldAgainAndRefused()
    {
        var definition = Guarded(OneMinute(), confirm: 3);
        var monday = T0 + (3 * Day);
        Tick[] ticks =
        [
            Tick("A", T0, 1),
            Tick("A", Year2099, 9),         // held
            Tick("A", monday, 2),           // held
            Tick("A", monday + 1_000, 3),   // held: three, so the jump is taken, but 2099 is far beyond the other two
            Tick("A", monday + 2_000, 4),
            Tick("A", monday + 3_000, 5),
            Tick("A", monday + 4_000, 6),
        ];

        var (events, engine) = Run(definition, ticks);

        var refused = Assert.Single(events.OfType<RefusedTick>());
        Assert.Equal(Year2099, refused.Tick.Ts);
        Assert.Equal(2, refused.Position);
        var bars = events.OfType<Bar>().ToList();
        Assert.Equal(6, bars.Sum(b => b.Trades));
        Assert.DoesNotContain(bars, b => b.High == 9);
        Assert.Equal(0, engine.Late);
    }

    [Fact]
    public void CloseAll_TakesTheTicksStillHeld()
    {
        var (engine, output) = NewEngine(PipelineDefinition.Default);
        engine.Feed(Tick("A", T0, 1), Tick("A", Year2099, 2));
        Assert.Equal(1, engine.Held);

        engine.CloseAll();

        Assert.Equal(0, engine.Held);
        Assert.Empty(output.Refusals);
        Assert.Contains(output.Bars, b => b.Window == "1m" && b.Close == 2);
    }

    private static readonly Gen<(PipelineDefinition, Tick[], int)> PoisonInputs =
        Gen.Select(EngineGen.Definition, EngineGen.Ticks.Where(t => t.Length >= 5))
            .SelectMany((definition, ticks) => Gen.Int[1, ticks.Length - 3].Select(at => (Guarded(definition), ticks, at)));

    [Fact]
    public void Process_OneFarFutureTickAnywhere_ChangesNothingButItsRefusal() =>
        PoisonInputs.Sample(
            (definition, ticks, at) =>
            {
                var clean = Run(definition, ticks).Events;
                var poison = Tick("ZED", ticks.Max(t => t.Ts) + (30 * Day), 100);
                var (events, engine) = Run(definition, [.. ticks[..at], poison, .. ticks[at..]]);

                Assert.Equal(clean, events.Where(e => e is not RefusedTick));
                Assert.Equal(poison, Assert.Single(events.OfType<RefusedTick>()).Tick);
                Assert.Equal(0, engine.Held);
            },
            iter: 2_000,
            print: input => $"poison before #{input.Item3}\n{EngineGen.Print(input.Item1, input.Item2)}");

    [Fact]
    public void Process_ARealJumpAnywhere_GivesWhatAnUnguardedEngineGives() =>
        PoisonInputs.Sample(
            (definition, ticks, at) =>
            {
                // Everything from `at` on happens 30 days later: a feed back after a month away.
                Tick[] jumped = [.. ticks[..at], .. ticks[at..].Select(t => t with { Ts = t.Ts + (30 * Day) })];

                var unguarded = Run(definition with { Future = FutureGuard.Off }, jumped).Events;
                var (events, engine) = Run(definition, jumped);

                Assert.Equal(FiredBy(unguarded, definition), events);
                Assert.Equal((0, 0), (engine.Refused, engine.Held));
            },
            iter: 2_000,
            print: input => $"jump at #{input.Item3}\n{EngineGen.Print(input.Item1, input.Item2)}");
}
