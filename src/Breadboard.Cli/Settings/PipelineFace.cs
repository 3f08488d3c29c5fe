using System.CommandLine;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.Kafka;
using Breadboard.Runtime;
using Breadboard.Runtime.Faces;
using Breadboard.Runtime.Sources;
using Breadboard.Web.Api;
using Breadboard.Web.Live;

namespace Breadboard.Cli.Settings;

/// <summary>What <c>up</c> needs of its settings to build a face.</summary>
/// <param name="CheckpointPath">The engine checkpoint file of the embedded face; null keeps none.</param>
/// <param name="InputEnds">The input is a file: its windows close when it ends (through Kafka: once the processor has drained it).</param>
internal sealed record FaceSettings(string? CheckpointPath, bool InputEnds);

/// <summary>
/// What runs the pipeline for <c>up</c>, chosen from the bus and engine seams in one place (<see cref="CreateAsync"/>):
/// the local engine in this process (<c>memory://</c>), the local engine as a Kafka consumer group (<c>kafka://</c>
/// with the local engine), or a Flink job (<c>kafka://</c> with <c>flink+http://</c>) whose output this process stores.
/// </summary>
internal abstract class PipelineFace : IDisposable
{
    /// <summary>The path a tick takes, for the start line.</summary>
    public abstract string Path { get; }

    public abstract PipelineStats Stats { get; }

    /// <summary>Consumer-group lag for /api/pipeline, when the face has a group.</summary>
    public virtual Func<IReadOnlyList<BusPartitionLag>>? Lag => null;

    /// <summary>Whether the face keeps the checkpoint file it was given (the embedded engine does; through Kafka the store holds it).</summary>
    public virtual bool KeepsCheckpoint => false;

    /// <summary>Lines to print once the run started (a checkpoint resumed or refused).</summary>
    public virtual IEnumerable<string> Notes => [];

    public abstract Task RunAsync(ITickSource source, CancellationToken cancellationToken);

    /// <summary>Runs <paramref name="next"/>'s rules and indicators from the next bar that closes.</summary>
    /// <exception cref="InvalidOperationException">This face cannot (the engine runs elsewhere), or is not running.</exception>
    public abstract Task<PipelineSwitch> ReloadAsync(PipelineDefinition next);

    public virtual void Dispose()
    {
    }

    /// <summary>The face the bus and engine seams name; a Flink engine without a Kafka bus is a one-line error.</summary>
    public static async Task<PipelineFace> CreateAsync(ParseResult parse, PipelineDefinition definition, IMarketStore store, IAlertBus alerts, LiveHub? hub, FaceSettings settings, CancellationToken cancellationToken)
    {
        var flink = Backends.IsFlinkEngine(parse);
        if (Seam.SchemeOf(Seams.Bus.Resolve(parse)) != "kafka")
        {
            return flink
                ? throw new SettingException($"{Seams.Engine.Describe(Seams.Engine.Resolve(parse))}: the Flink engine reads ticks from Kafka and writes bars and alerts there; add --bus kafka://host:port")
                : new Local(new EmbeddedPipeline(definition, store, alerts, EmbeddedPipelineOptions.Default with
                {
                    CheckpointPath = settings.CheckpointPath,
                    CloseAtEndOfInput = settings.InputEnds,
                    Logger = Commands.CommandRunner.Logger("engine"),
                }, hub), settings.CheckpointPath);
        }

        var kafka = Backends.KafkaBus(parse);
        await Backends.EnsureTopicsAsync(parse, kafka, cancellationToken);
        var stats = new PipelineStats();
        if (flink)
        {
            // Flink runs the pipeline (deployed with 'flink deploy'); this process feeds it and stores what it writes.
            var sink = new OutputSink(kafka, store, alerts, stats, SinkOptions.Default with { Logger = Commands.CommandRunner.Logger("kafka") }, hub);
            return new ThroughKafka(kafka, stats, sink.RunAsync, () => Backends.ToBusLag(sink.Lag), sink, $"Kafka {kafka.BootstrapServers} → Flink job ({Seams.Engine.Shown(parse)}) → sink (group {SinkOptions.Default.GroupId})", null);
        }

        var processor = new TickProcessor(kafka, definition, store, alerts, stats, ProcessorOptions.Default with
        {
            DrainWhenIdle = settings.InputEnds,
            IdleTimeout = TimeSpan.FromSeconds(2),
            Logger = Commands.CommandRunner.Logger("kafka"),
        }, hub);
        return new ThroughKafka(kafka, stats, processor.RunAsync, () => Backends.ToBusLag(processor.Lag), processor, $"Kafka {kafka.BootstrapServers} → processor (group {ProcessorOptions.Default.GroupId})", next => Task.FromResult(processor.Reload(next)));
    }

    /// <summary>The embedded face: the engine in this process.</summary>
    private sealed class Local(EmbeddedPipeline pipeline, string? checkpointPath) : PipelineFace
    {
        public override string Path => "local engine";

        public override PipelineStats Stats => pipeline.Stats;

        public override bool KeepsCheckpoint => checkpointPath is not null;

        public override IEnumerable<string> Notes
        {
            get
            {
                if (pipeline.Restored)
                {
                    yield return $"resumed from checkpoint {checkpointPath}: open windows continue";
                }

                if (pipeline.CheckpointProblem is { } problem)
                {
                    yield return $"warning: {problem}";
                }
            }
        }

        public override Task RunAsync(ITickSource source, CancellationToken cancellationToken) => pipeline.RunAsync(source, cancellationToken);

        public override Task<PipelineSwitch> ReloadAsync(PipelineDefinition next) => pipeline.ReloadAsync(next);
    }

    /// <summary>
    /// Publishes <paramref name="source"/>'s ticks to Kafka while <paramref name="consume"/> runs in this process, until
    /// the source ends or <paramref name="cancellationToken"/> stops it (Ctrl-C, --duration); then flushes the
    /// producer and waits for the consumer.
    /// </summary>
    internal static async Task ProduceWhileConsumingAsync(KafkaBusOptions kafka, PipelineStats stats, ITickSource source, Func<CancellationToken, Task> consume, CancellationToken cancellationToken)
    {
        var consuming = consume(cancellationToken);
        using (var producer = new TickProducer(kafka))
        {
            try
            {
                await foreach (var tick in SourceTicks.ReadAllAsync(source, stats, cancellationToken: cancellationToken))
                {
                    producer.Produce(in tick);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopped.
            }

            producer.Flush(TimeSpan.FromSeconds(30));
        }

        await consuming;
    }

    /// <summary>The feed published to Kafka while a consumer group member (the processor, or the sink of a Flink job) consumes in this process.</summary>
    /// <param name="reload">The processor's reload; null behind Flink, whose job changes with 'flink deploy --upgrade'.</param>
    private sealed class ThroughKafka(KafkaBusOptions kafka, PipelineStats stats, Func<CancellationToken, Task> consume, Func<IReadOnlyList<BusPartitionLag>> lag, IDisposable member, string path, Func<PipelineDefinition, Task<PipelineSwitch>>? reload) : PipelineFace
    {
        public override string Path => path;

        public override Task<PipelineSwitch> ReloadAsync(PipelineDefinition next) =>
            reload?.Invoke(next) ?? throw new InvalidOperationException("the Flink job runs the pipeline: change it with 'flink deploy --upgrade'");

        public override PipelineStats Stats => stats;

        public override Func<IReadOnlyList<BusPartitionLag>> Lag => lag;

        public override Task RunAsync(ITickSource source, CancellationToken cancellationToken) =>
            ProduceWhileConsumingAsync(kafka, stats, source, consume, cancellationToken);

        public override void Dispose()
        {
            member.Dispose();
            base.Dispose();
        }
    }
}
