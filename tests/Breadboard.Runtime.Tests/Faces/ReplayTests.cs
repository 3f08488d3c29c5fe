using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Runtime.Faces;
using Breadboard.Runtime.Outputs;
using Breadboard.Runtime.Sources;

namespace Breadboard.Runtime.Tests.Faces;

public sealed class ReplayTests : IDisposable
{
    private static readonly string[] Outputs = ["bars", "alerts", "late", "rejects"];
    private readonly string _dir = Directory.CreateTempSubdirectory("bb-replay-").FullName;

    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "Golden", name);

    [Fact]
    public async Task Run_GoldenInput_WritesTheHandCheckedOutputs()
    {
        var result = await Replay.RunAsync(Options("whole"), cancellationToken: TestContext.Current.CancellationToken);

        foreach (var name in Outputs)
        {
            Assert.Equal(await File.ReadAllTextAsync(Golden($"expected-{name}.ndjson"), TestContext.Current.CancellationToken), await File.ReadAllTextAsync(Out("whole", name), TestContext.Current.CancellationToken));
        }

        Assert.True(result.Exhausted);
        Assert.False(result.Resumed);
    }

    /// <summary>A run stopped after any number of lines leaves a checkpoint; the same replay started again gives what an uninterrupted one gives.</summary>
    [Fact]
    public async Task Run_StoppedAnywhereThenStartedAgain_WritesWhatAnUninterruptedRunWrites()
    {
        var lines = File.ReadAllLines(Golden("ticks.ndjson")).Length;
        for (var stopAfter = 1; stopAfter < lines; stopAfter += Math.Max(1, lines / 12))
        {
            var name = $"stop{stopAfter}";
            var options = Options(name) with { Checkpoint = Path.Combine(_dir, $"{name}.ckpt"), CheckpointEvery = 3 };
            await StopAfterAsync(options, stopAfter);
            Assert.True(File.Exists(options.Checkpoint), $"stopped after {stopAfter} lines: no checkpoint");

            var result = await Replay.RunAsync(options, cancellationToken: TestContext.Current.CancellationToken);

            Assert.True(result.Resumed);
            Assert.False(File.Exists(options.Checkpoint));
            foreach (var output in Outputs)
            {
                Assert.Equal(await File.ReadAllTextAsync(Golden($"expected-{output}.ndjson"), TestContext.Current.CancellationToken), await File.ReadAllTextAsync(Out(name, output), TestContext.Current.CancellationToken));
            }
        }
    }

    [Fact]
    public async Task Run_WithACheckpointOfAnotherPipeline_IsAnErrorSayingSo()
    {
        var options = Options("other") with { Checkpoint = Path.Combine(_dir, "other.ckpt") };
        await StopAfterAsync(options, 10);

        var changed = options with { Pipeline = PipelineDefinition.Default with { OutOfOrdernessMs = 1 } };
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => Replay.RunAsync(changed, cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("different pipeline definition", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Runs the replay's host over its input until <paramref name="lines"/> lines are read, as a killed run would have.</summary>
    private static async Task StopAfterAsync(ReplayOptions options, int lines)
    {
        using var source = new StopAfter(new FileTickSource(options.Input), lines);
        using var files = new RecordFiles(new RecordPaths(options.BarsOut, options.AlertsOut, options.LateOut, options.RejectsOut), options.Pipeline.Aggregates);
        var host = new EngineHost(options.Pipeline, new EngineHostOptions { Files = files, CheckpointPath = options.Checkpoint, CheckpointEvery = options.CheckpointEvery, CompleteAtEnd = true });
        var result = await host.RunAsync(source, cancellationToken: TestContext.Current.CancellationToken);
        Assert.False(result.Exhausted);
    }

    private ReplayOptions Options(string name) => new()
    {
        Input = Golden("ticks.ndjson"),
        Pipeline = PipelineDefinition.Default,
        BarsOut = Out(name, "bars"),
        AlertsOut = Out(name, "alerts"),
        LateOut = Out(name, "late"),
        RejectsOut = Out(name, "rejects"),
    };

    private string Out(string run, string name) => Path.Combine(_dir, run, $"{name}.ndjson");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A source that ends (without being exhausted) after a number of reads.</summary>
    private sealed class StopAfter(ITickSource inner, int reads) : ITickSource
    {
        private int _left = reads;

        public string Name => inner.Name;

        public long Position => inner.Position;

        public long Line => inner.Line;

        public bool Exhausted => false;

        public Reject? LastReject => inner.LastReject;

        public SourceStatus Read(out Tick tick, out long position)
        {
            if (_left-- <= 0)
            {
                (tick, position) = (default, 0);
                return SourceStatus.End;
            }

            return inner.Read(out tick, out position);
        }

        public ValueTask WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => inner.WaitAsync(timeout, cancellationToken);

        public void Dispose() => inner.Dispose();
    }
}
