using Breadboard.Core.Pipeline;
using Breadboard.Flink.Gateway;
using Breadboard.TestKit;
using Breadboard.TestKit.Flink;

namespace Breadboard.Flink.Tests.Gateway;

/// <summary><see cref="FlinkDeployer.UpgradeAsync"/> against the fake SQL Gateway, with scripts compiled from config/pipeline.yaml.</summary>
public sealed class FlinkUpgradeTests : IAsyncLifetime
{
    private const string Job = "bb-upgrade";

    private static readonly SqlGatewayOpts Fast = SqlGatewayOpts.Default with
    {
        MinPollInterval = TimeSpan.FromMilliseconds(5),
        MaxPollInterval = TimeSpan.FromMilliseconds(20),
        OperationTimeout = TimeSpan.FromSeconds(10),
    };

    private static readonly string Shipped = File.ReadAllText(Path.Combine(Repository.Root(), "config", "pipeline.yaml"));

    private FakeFlinkGateway _gateway = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _gateway = await FakeFlinkGateway.StartAsync(Ct);

    public async ValueTask DisposeAsync() => await _gateway.DisposeAsync();

    private static IReadOnlyList<string> Compiled(string yaml) =>
        FlinkSqlCompiler.CompileStatements(PipelineLoader.Parse(yaml, "pipeline.yaml"), new FlinkOptions { BootstrapServers = "kafka:9092", JobName = Job });

    private static IReadOnlyList<string> NewThreshold => Compiled(Shipped.Replace("threshold_percent: -5", "threshold_percent: -4", StringComparison.Ordinal));

    private static IReadOnlyList<string> NewWindow => Compiled(Shipped.Replace("size: 60s", "size: 120s", StringComparison.Ordinal));

    private static Func<FlinkJob, CancellationToken, ValueTask<IReadOnlyList<string>?>> Knows(IReadOnlyList<string>? statements) =>
        (_, _) => ValueTask.FromResult(statements);

    /// <summary>The old script deployed as the running job; the statements sent so far are forgotten.</summary>
    private async Task<(SqlGatewayClient Client, string JobId, int Sent)> RunningAsync(IReadOnlyList<string> old)
    {
        var client = new SqlGatewayClient(_gateway.Url, Fast);
        var id = await new FlinkDeployer(client).DeployAsync(old, Job, cancellationToken: Ct);
        return (client, id, _gateway.Statements.Count);
    }

    [Fact]
    public async Task Upgrade_CompatibleChange_StopsWithSavepointThenStartsTheNewSqlFromIt()
    {
        var old = Compiled(Shipped);
        var (client, oldId, sent) = await RunningAsync(old);
        using var _ = client;
        var next = NewThreshold;

        var upgrade = await new FlinkDeployer(client).UpgradeAsync(next, Job, Knows(old), Ct);

        Assert.Equal(oldId, upgrade.OldJobId);
        Assert.StartsWith($"file:/tmp/flink-savepoints/savepoint-{oldId[..6]}-", upgrade.SavepointPath, StringComparison.Ordinal);
        Assert.Equal(
            ["SHOW JOBS", $"STOP JOB '{oldId}' WITH SAVEPOINT", $"SET 'execution.state-recovery.path' = '{upgrade.SavepointPath}'", .. next],
            _gateway.Statements.Skip(sent));
        Assert.Equal("FINISHED", _gateway.Jobs.Single(j => j.Id == oldId).Status);
        var started = _gateway.Jobs.Single(j => j.Id == upgrade.NewJobId);
        Assert.Equal(("RUNNING", upgrade.SavepointPath), (started.Status, started.RestoredFrom));
        Assert.Equal(["rule 'price_drop': name, threshold or comparison"], upgrade.Verdict.Tolerated);
        Assert.Equal(_gateway.OpenedSessions, _gateway.ClosedSessions);
        Assert.Equal(2, _gateway.OpenedSessions.Count); // the first deploy's and the upgrade's: stop and start share one session
    }

    [Fact]
    public async Task Upgrade_ChangedWindow_IsRefusedInOneLine_AndTheJobIsUntouched()
    {
        var (client, oldId, sent) = await RunningAsync(Compiled(Shipped));
        using var _ = client;

        var e = await Assert.ThrowsAsync<FlinkUpgradeRefusedException>(() => new FlinkDeployer(client).UpgradeAsync(NewWindow, Job, Knows(Compiled(Shipped)), Ct));

        Assert.StartsWith("cannot upgrade with state: window '1m' (bars_0) changed; ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(["SHOW JOBS"], _gateway.Statements.Skip(sent));
        Assert.Equal(oldId, Assert.Single(_gateway.Jobs).Id);
        Assert.Equal("RUNNING", _gateway.Jobs[0].Status);
        Assert.Equal(_gateway.OpenedSessions, _gateway.ClosedSessions);
    }

    [Fact]
    public async Task Upgrade_RunningSqlUnknown_IsRefused()
    {
        var (client, oldId, sent) = await RunningAsync(Compiled(Shipped));
        using var _ = client;

        var e = await Assert.ThrowsAsync<FlinkUpgradeRefusedException>(() => new FlinkDeployer(client).UpgradeAsync(NewThreshold, Job, Knows(null), Ct));

        Assert.Equal($"cannot upgrade with state: the SQL job {oldId} runs is not known here (no deployment record for it); pass --previous with the pipeline file it was deployed from", e.Message);
        Assert.Equal(["SHOW JOBS"], _gateway.Statements.Skip(sent));
    }

    [Fact]
    public async Task Upgrade_NoRunningJob_IsRefused()
    {
        using var client = new SqlGatewayClient(_gateway.Url, Fast);

        var e = await Assert.ThrowsAsync<FlinkUpgradeRefusedException>(() => new FlinkDeployer(client).UpgradeAsync(NewThreshold, Job, Knows(null), Ct));

        Assert.Equal($"cannot upgrade: no active job named '{Job}' on the cluster; deploy without --upgrade", e.Message);
        Assert.Empty(_gateway.Jobs);
    }

    [Fact]
    public async Task Upgrade_StopWithSavepointFails_SaysSoAndLeavesTheJobRunning()
    {
        var old = Compiled(Shipped);
        var (client, oldId, sent) = await RunningAsync(old);
        using var _ = client;
        _gateway.FailWith = s => s.StartsWith("STOP JOB", StringComparison.Ordinal)
            ? "org.apache.flink.runtime.checkpoint.CheckpointException: Failure to finalize checkpoint due to CHECKPOINT_DECLINED_TASK_NOT_READY"
            : null;

        var e = await Assert.ThrowsAsync<FlinkGatewayException>(() => new FlinkDeployer(client).UpgradeAsync(NewThreshold, Job, Knows(old), Ct));

        Assert.Equal(
            $"upgrade stopped before it began: STOP JOB '{oldId}' WITH SAVEPOINT: CheckpointException: Failure to finalize checkpoint due to CHECKPOINT_DECLINED_TASK_NOT_READY; job {oldId} is RUNNING, nothing new was submitted",
            e.Message);
        Assert.Equal(["SHOW JOBS", $"STOP JOB '{oldId}' WITH SAVEPOINT", "SHOW JOBS"], _gateway.Statements.Skip(sent));
        Assert.Equal("RUNNING", Assert.Single(_gateway.Jobs).Status);
    }

    [Fact]
    public async Task Upgrade_NewJobDoesNotStartFromTheSavepoint_NamesTheSavepointAndFlinksReason()
    {
        var old = Compiled(Shipped);
        var (client, oldId, _) = await RunningAsync(old);
        using var __ = client;
        // What the submission answers when Flink cannot map the state (flink-runtime Checkpoints.loadAndValidateCheckpoint,
        // raised while the job initialises, which the gateway's executor waits for: ClientUtils.waitUntilJobInitializationFinished).
        _gateway.FailWith = s => s.StartsWith("EXECUTE STATEMENT SET", StringComparison.Ordinal)
            ? "java.lang.IllegalStateException: Failed to rollback to checkpoint/savepoint file:/tmp/flink-savepoints/x. Cannot map checkpoint/savepoint state for operator 6cdc5bb954874d922eaee11a8e7b5dd5 to the new program, because the operator is not available in the new program. If you want to allow to skip this, you can set the --allowNonRestoredState option on the CLI."
            : null;

        var e = await Assert.ThrowsAsync<FlinkGatewayException>(() => new FlinkDeployer(client).UpgradeAsync(NewThreshold, Job, Knows(old), Ct));

        var savepoint = _gateway.Statements.Single(s => s.StartsWith("SET 'execution.state-recovery.path'", StringComparison.Ordinal))["SET 'execution.state-recovery.path' = '".Length..^1];
        Assert.StartsWith($"job {oldId} was stopped with savepoint {savepoint}, but the new job did not start from it: EXECUTE STATEMENT SET: IllegalStateException: Failed to rollback", e.Message, StringComparison.Ordinal);
        Assert.EndsWith($"; restart the old pipeline with 'breadboard flink deploy --from-savepoint {savepoint}'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal("FINISHED", Assert.Single(_gateway.Jobs).Status);
    }

    [Fact]
    public async Task Records_SaveThenLoad_GivesTheStatementsBack_AndRefusesAPathForAJobId()
    {
        var root = Directory.CreateTempSubdirectory("bb-records-").FullName;
        var records = new FlinkDeploymentRecords(Path.Combine(root, "records"));
        var statements = Compiled(Shipped);
        const string id = "0123456789ABCDEF0123456789abcdef";

        await records.SaveAsync(id, Job, statements, Ct);

        Assert.Equal(statements, await records.LoadAsync(id.ToLowerInvariant(), Ct));
        Assert.Null(await records.LoadAsync("fedcba9876543210fedcba9876543210", Ct));
        Assert.Throws<ArgumentException>(() => records.PathOf("../../etc/passwd"));
        Directory.Delete(root, recursive: true);
    }
}
