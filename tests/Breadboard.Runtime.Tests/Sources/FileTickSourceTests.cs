using System.Diagnostics;
using System.Globalization;
using Breadboard.Runtime.Sources;

namespace Breadboard.Runtime.Tests.Sources;

public sealed class FileTickSourceTests : IDisposable
{
    private const long T0 = 1_767_364_200_000;
    private readonly string _dir = Directory.CreateTempSubdirectory("bb-source-").FullName;

    [Fact]
    public async Task Read_Paced_GivesEveryTickInOrderAtItsTime()
    {
        var path = Write(300, stepMs: 100); // 30 s of event time
        using var source = new FileTickSource(path, new FileSourceOpts { Speed = 100 }); // 0.3 s
        var clock = Stopwatch.StartNew();
        var seen = new List<long>();
        while (true)
        {
            var status = source.Read(out var tick, out var position);
            if (status == SourceStatus.End)
            {
                break;
            }

            if (status == SourceStatus.Empty)
            {
                await source.WaitAsync(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
                continue;
            }

            Assert.Equal(SourceStatus.Tick, status);
            Assert.Equal(seen.Count + 1, position);
            seen.Add(tick.Ts);
        }

        Assert.Equal(300, seen.Count);
        Assert.True(source.Exhausted);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.25), TimeSpan.FromSeconds(20));
    }

    /// <summary>A tick waiting for its time is not yet read: a checkpoint taken then resumes with it.</summary>
    [Fact]
    public void Position_WhileATickWaitsForItsTime_IsBeforeThatTick()
    {
        var path = Write(3, stepMs: 60_000);
        using var source = new FileTickSource(path, new FileSourceOpts { Speed = 1 });
        Assert.Equal(SourceStatus.Tick, source.Read(out _, out _));
        var afterFirst = (source.Position, source.Line);

        Assert.Equal(SourceStatus.Empty, source.Read(out _, out _));

        Assert.Equal(afterFirst, (source.Position, source.Line));
    }

    [Fact]
    public void Read_Stopped_EndsWithoutExhausting()
    {
        var path = Write(3, stepMs: 60_000);
        using var stop = new CancellationTokenSource();
        using var source = new FileTickSource(path, new FileSourceOpts { Speed = 1 }, stop.Token);
        Assert.Equal(SourceStatus.Tick, source.Read(out _, out _));
        Assert.Equal(SourceStatus.Empty, source.Read(out _, out _));

        stop.Cancel();

        Assert.Equal(SourceStatus.End, source.Read(out _, out _));
        Assert.False(source.Exhausted);
    }

    [Fact]
    public async Task Host_PacedWithCheckpoints_RunsToTheEnd()
    {
        var path = Write(3_000, stepMs: 100);
        using var source = new FileTickSource(path, new FileSourceOpts { Speed = 200 });
        using var files = new Outputs.RecordFiles(new Outputs.RecordPaths(Path.Combine(_dir, "b.ndjson"), Path.Combine(_dir, "a.ndjson")), Core.Pipeline.PipelineDefinition.Default.Aggregates);
        var host = new EngineHost(Core.Pipeline.PipelineDefinition.Default, new EngineHostOptions { Files = files, FlushInterval = TimeSpan.FromSeconds(1), CheckpointPath = Path.Combine(_dir, "c.ckpt"), CheckpointEvery = 1000, CompleteAtEnd = true });
        var run = host.RunAsync(source, cancellationToken: TestContext.Current.CancellationToken);
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken));
        Assert.True(finished == run, "hung");
        Assert.Equal(3_000, (await run).Ticks);
    }

    private string Write(int count, long stepMs)
    {
        var path = Path.Combine(_dir, $"ticks-{count}-{stepMs}.ndjson");
        File.WriteAllLines(path, Enumerable.Range(0, count).Select(i => string.Create(CultureInfo.InvariantCulture, $$"""{"symbol":"AAPL","ts":{{T0 + (i * stepMs)}},"price":100,"volume":1}""")));
        return path;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
