using System.Text;

namespace Breadboard.Runtime.Tests;

public sealed class RunCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("bb-checkpoint-").FullName;

    [Fact]
    public void WriteTo_ThenReadFrom_GivesTheSameCheckpoint()
    {
        var path = Path.Combine(_dir, "run.ckpt");
        var written = new RunCheckpoint(1234, 56, 7, [10, 20, -1, 30], [1, 2, 3, 4, 5]);

        written.WriteTo(path);
        var read = RunCheckpoint.ReadFrom(path);

        Assert.Equal((written.Position, written.Line, written.Rejects), (read.Position, read.Line, read.Rejects));
        Assert.Equal(written.OutputLengths, read.OutputLengths);
        Assert.Equal(written.EngineState, read.EngineState);
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void ReadFrom_AReplayCheckpointOfAnOlderBuild_ReadsItsFields()
    {
        var path = Path.Combine(_dir, "replay.ckpt");
        using (var w = new BinaryWriter(File.Create(path)))
        {
            w.Write(0x52504242); // "BBPR"
            w.Write(100L);
            w.Write(3L);
            w.Write(1L);
            w.Write(11L);
            w.Write(22L);
            w.Write(-1L);
            w.Write(33L);
            w.Write(new byte[] { 9, 8, 7 });
        }

        var read = RunCheckpoint.ReadFrom(path);

        Assert.Equal((100L, 3L, 1L), (read.Position, read.Line, read.Rejects));
        Assert.Equal([11L, 22L, -1L, 33L], read.OutputLengths);
        Assert.Equal([9, 8, 7], read.EngineState);
    }

    [Fact]
    public void ReadFrom_AnEngineStateAloneAsUpKeptIt_ReadsItAsTheState()
    {
        var path = Path.Combine(_dir, "engine.checkpoint");
        byte[] state = [0x42, 0x42, 0x43, 0x4B, 1, 2];
        File.WriteAllBytes(path, state);

        var read = RunCheckpoint.ReadFrom(path);

        Assert.Equal(state, read.EngineState);
        Assert.Empty(read.OutputLengths);
    }

    [Theory]
    [InlineData("not a checkpoint at all")]
    [InlineData("")]
    public void ReadFrom_SomethingElse_IsAnErrorNamingTheFile(string content)
    {
        var path = Path.Combine(_dir, "other.ckpt");
        File.WriteAllText(path, content, Encoding.UTF8);

        var e = Assert.Throws<InvalidDataException>(() => RunCheckpoint.ReadFrom(path));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFrom_ATruncatedCheckpoint_IsAnErrorSayingSo()
    {
        var path = Path.Combine(_dir, "cut.ckpt");
        new RunCheckpoint(1, 2, 3, [4], new byte[100]).WriteTo(path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 10)]);

        var e = Assert.Throws<InvalidDataException>(() => RunCheckpoint.ReadFrom(path));

        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
