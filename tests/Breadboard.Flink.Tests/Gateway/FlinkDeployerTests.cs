using Breadboard.Core.Pipeline;
using Breadboard.Flink.Gateway;
using Breadboard.TestKit.Flink;

namespace Breadboard.Flink.Tests.Gateway;

/// <summary>The SQL Gateway client and deployer against a fake gateway that speaks Flink 1.20's REST API.</summary>
public sealed class FlinkDeployerTests : IAsyncLifetime
{
    private static readonly SqlGatewayOpts Fast = SqlGatewayOpts.Default with
    {
        MinPollInterval = TimeSpan.FromMilliseconds(5),
        MaxPollInterval = TimeSpan.FromMilliseconds(20),
        OperationTimeout = TimeSpan.FromSeconds(10),
    };

    private FakeFlinkGateway _gateway = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _gateway = await FakeFlinkGateway.StartAsync(Ct);

    public async ValueTask DisposeAsync() => await _gateway.DisposeAsync();

    private static IReadOnlyList<string> Compiled(string jobName = "bb-test") =>
        FlinkSqlCompiler.CompileStatements(PipelineDefinition.Default, new FlinkOptions { BootstrapServers = "kafka:9092", JobName = jobName });

    private SqlGatewayClient Client(SqlGatewayOpts? opts = null) => new(_gateway.Url, opts ?? Fast);

    [Fact]
    public async Task Deploy_CompiledPipeline_ReturnsTheJobIdAndRunsTheStatementsInOrder()
    {
        using var client = Client();
        var statements = Compiled();

        var jobId = await new FlinkDeployer(client).DeployAsync(statements, "bb-test", cancellationToken: Ct);

        var job = Assert.Single(_gateway.Jobs);
        Assert.Equal(job.Id, jobId);
        Assert.Equal("bb-test", job.Name);
        Assert.Equal("RUNNING", job.Status);
        Assert.Equal(["SHOW JOBS", .. statements], _gateway.Statements);
        var session = Assert.Single(_gateway.OpenedSessions);
        Assert.Equal([session], _gateway.ClosedSessions);
        Assert.Equal("DELETE", _gateway.Requests.Last().Method);
    }

    [Fact]
    public async Task Deploy_FromSavepoint_SetsTheRecoveryPathBeforeTheJobsStatements()
    {
        using var client = Client();
        var statements = Compiled();

        await new FlinkDeployer(client).DeployAsync(statements, "bb-test", "file:/sp/it's-1", Ct);

        Assert.Equal(["SHOW JOBS", "SET 'execution.state-recovery.path' = 'file:/sp/it''s-1'", .. statements], _gateway.Statements);
        Assert.Equal("file:/sp/it's-1", Assert.Single(_gateway.Jobs).RestoredFrom);
    }

    [Fact]
    public async Task Deploy_StatementFails_IsOneLineNamingTheStatementAndRootCause_AndClosesTheSession()
    {
        _gateway.FailWith = s => s.StartsWith("CREATE TABLE crypto_prices", StringComparison.Ordinal)
            ? "org.apache.flink.table.api.ValidationException: Could not find any factory for identifier 'kafka' that implements 'org.apache.flink.table.factories.DynamicTableFactory' in the classpath."
            : null;
        using var client = Client();
        var statements = Compiled();

        var e = await Assert.ThrowsAsync<FlinkGatewayException>(() => new FlinkDeployer(client).DeployAsync(statements, "bb-test", cancellationToken: Ct));

        Assert.Equal("CREATE TABLE crypto_prices: ValidationException: Could not find any factory for identifier 'kafka' that implements 'org.apache.flink.table.factories.DynamicTableFactory' in the classpath.", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal("CREATE TABLE crypto_prices", FlinkGatewayException.Summarize(_gateway.Statements[^1]));
        Assert.Empty(_gateway.Jobs);
        Assert.Equal(_gateway.OpenedSessions, _gateway.ClosedSessions);
    }

    [Fact]
    public async Task Deploy_JobOfTheSameNameRunning_IsRefusedBeforeAnyStatement()
    {
        const string running = "0123456789abcdef0123456789abcdef";
        _gateway.Jobs.Add(new FakeFlinkGateway.Job(running, "bb-test", "RUNNING", DateTimeOffset.UtcNow));
        _gateway.Jobs.Add(new FakeFlinkGateway.Job("fedcba9876543210fedcba9876543210", "other", "RUNNING", DateTimeOffset.UtcNow));
        using var client = Client();

        var e = await Assert.ThrowsAsync<FlinkGatewayException>(() => new FlinkDeployer(client).DeployAsync(Compiled(), "bb-test", cancellationToken: Ct));

        Assert.Contains($"job 'bb-test' is already RUNNING as {running}", e.Message, StringComparison.Ordinal);
        Assert.Contains("flink cancel", e.Message, StringComparison.Ordinal);
        Assert.Equal(["SHOW JOBS"], _gateway.Statements);
        Assert.Equal(2, _gateway.Jobs.Count);
        Assert.Equal(_gateway.OpenedSessions, _gateway.ClosedSessions);
    }

    [Fact]
    public async Task Deploy_JobOfTheSameNameCanceled_Deploys()
    {
        _gateway.Jobs.Add(new FakeFlinkGateway.Job("0123456789abcdef0123456789abcdef", "bb-test", "CANCELED", DateTimeOffset.UtcNow));
        using var client = Client();

        var jobId = await new FlinkDeployer(client).DeployAsync(Compiled(), "bb-test", cancellationToken: Ct);

        Assert.Equal(jobId, _gateway.Jobs[^1].Id);
    }

    [Fact]
    public async Task Status_ListsTheJobsOfThatNameNewestFirst()
    {
        var older = new FakeFlinkGateway.Job("00000000000000000000000000000001", "bb-test", "CANCELED", DateTimeOffset.Parse("2026-01-02T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var newer = new FakeFlinkGateway.Job("00000000000000000000000000000002", "bb-test", "RUNNING", DateTimeOffset.Parse("2026-01-02T11:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        _gateway.Jobs.AddRange([older, new FakeFlinkGateway.Job("00000000000000000000000000000003", "other", "RUNNING", DateTimeOffset.UtcNow), newer]);
        using var client = Client();

        var jobs = await new FlinkDeployer(client).StatusAsync("bb-test", Ct);

        Assert.Equal([newer.Id, older.Id], jobs.Select(j => j.Id));
        Assert.Equal(["RUNNING", "CANCELED"], jobs.Select(j => j.Status));
        Assert.Equal("2026-01-02T11:00:00.000Z", jobs[0].StartTime);
        Assert.Equal(_gateway.OpenedSessions, _gateway.ClosedSessions);
    }

    [Fact]
    public async Task Cancel_WithSavepoint_StopsTheActiveJobAndReturnsThePath()
    {
        using var client = Client();
        var deployer = new FlinkDeployer(client);
        var jobId = await deployer.DeployAsync(Compiled(), "bb-test", cancellationToken: Ct);

        var stopped = await deployer.CancelAsync("bb-test", jobId: null, withSavepoint: true, Ct);

        Assert.Equal(jobId, stopped.JobId);
        Assert.StartsWith($"file:/tmp/flink-savepoints/savepoint-{jobId[..6]}-", stopped.SavepointPath, StringComparison.Ordinal);
        Assert.Equal($"STOP JOB '{jobId}' WITH SAVEPOINT", _gateway.Statements[^1]);
        Assert.Equal("FINISHED", Assert.Single(_gateway.Jobs).Status);
    }

    [Fact]
    public async Task Cancel_ThenRedeployFromTheSavepoint_RestoresTheNewJob()
    {
        using var client = Client();
        var deployer = new FlinkDeployer(client);
        await deployer.DeployAsync(Compiled(), "bb-test", cancellationToken: Ct);
        var stopped = await deployer.CancelAsync("bb-test", null, withSavepoint: true, Ct);

        var second = await deployer.DeployAsync(Compiled(), "bb-test", stopped.SavepointPath, Ct);

        Assert.Equal(stopped.SavepointPath, _gateway.Jobs.Single(j => j.Id == second).RestoredFrom);
    }

    [Fact]
    public async Task Cancel_WithoutSavepointByJobId_CancelsThatJob()
    {
        const string id = "0123456789abcdef0123456789abcdef";
        _gateway.Jobs.Add(new FakeFlinkGateway.Job(id, "bb-test", "RUNNING", DateTimeOffset.UtcNow));
        using var client = Client();

        var stopped = await new FlinkDeployer(client).CancelAsync("ignored", id, withSavepoint: false, Ct);

        Assert.Equal(new FlinkCancellation(id, null), stopped);
        Assert.Equal([$"STOP JOB '{id}'"], _gateway.Statements);
        Assert.Equal("CANCELED", Assert.Single(_gateway.Jobs).Status);
    }

    [Fact]
    public async Task Cancel_NoActiveJob_IsOneLine()
    {
        using var client = Client();

        var e = await Assert.ThrowsAsync<FlinkGatewayException>(() => new FlinkDeployer(client).CancelAsync("bb-test", null, withSavepoint: true, Ct));

        Assert.Equal("no active job named 'bb-test' on the cluster", e.Message);
    }

    [Fact]
    public async Task Cancel_UnknownJobId_CarriesFlinksRootCause()
    {
        const string id = "0123456789abcdef0123456789abcdef";
        using var client = Client();

        var e = await Assert.ThrowsAsync<FlinkGatewayException>(() => new FlinkDeployer(client).CancelAsync("bb-test", id, withSavepoint: false, Ct));

        Assert.Equal($"STOP JOB '{id}': FlinkJobNotFoundException: Could not find Flink job ({id})", e.Message);
    }

    [Fact]
    public async Task Client_ConnectionRefused_IsOneLineNamingTheUrl()
    {
        var url = new Uri($"http://127.0.0.1:{Breadboard.TestKit.ServerProcess.FreePort()}/");
        using var client = new SqlGatewayClient(url, Fast);

        var e = await Assert.ThrowsAsync<FlinkGatewayException>(() => new FlinkDeployer(client).DeployAsync(Compiled(), "bb-test", cancellationToken: Ct));

        Assert.StartsWith($"Flink SQL Gateway at {url} is not reachable: ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task Client_OperationThatNeverFinishes_TimesOutAndIsCancelled()
    {
        _gateway.NeverFinishes = s => s.StartsWith("EXECUTE STATEMENT SET", StringComparison.Ordinal);
        using var client = Client(Fast with { OperationTimeout = TimeSpan.FromMilliseconds(300) });

        var e = await Assert.ThrowsAsync<FlinkGatewayException>(() => new FlinkDeployer(client).DeployAsync(Compiled(), "bb-test", cancellationToken: Ct));

        Assert.Equal("EXECUTE STATEMENT SET: not finished after 0.3 s (status RUNNING); cancelled", e.Message);
        Assert.Contains(_gateway.Requests, r => r.Method == "POST" && r.Path.EndsWith("/cancel", StringComparison.Ordinal));
        Assert.Equal(_gateway.OpenedSessions, _gateway.ClosedSessions);
    }

    [Fact]
    public async Task Client_FetchAll_FollowsNextResultUriOverNotReadyAndTwoPages()
    {
        for (var i = 0; i < 3; i++)
        {
            _gateway.Jobs.Add(new FakeFlinkGateway.Job($"{i:D32}", $"job-{i}", "RUNNING", DateTimeOffset.UtcNow));
        }

        using var client = Client();
        var session = await client.OpenSessionAsync("t", cancellationToken: Ct);

        var result = await client.RunAsync(session, "SHOW JOBS", Ct);

        Assert.Equal(["job id", "job name", "status", "start time"], result.Columns);
        Assert.Equal(["job-0", "job-1", "job-2"], result.Rows.Select(r => result.Get(r, "job name")));
        var fetches = _gateway.Requests.Where(r => r.Path.Contains("/result/", StringComparison.Ordinal)).Select(r => r.Path[(r.Path.LastIndexOf('/') + 1)..]).ToList();
        Assert.Equal(["0", "0", "1", "2"], fetches);
    }

    [Fact]
    public async Task Client_StatusPolls_SeePendingRunningFinished()
    {
        _gateway.PollsToFinish = 3;
        using var client = Client();
        var session = await client.OpenSessionAsync(cancellationToken: Ct);
        var operation = await client.ExecuteAsync(session, "CREATE TABLE t (x INT)", Ct);

        await client.WaitAsync(operation, Ct);

        Assert.Equal(4, _gateway.Requests.Count(r => r.Path.EndsWith("/status", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Client_UnknownSession_IsOneLine()
    {
        using var client = Client();

        var e = await Assert.ThrowsAsync<FlinkGatewayException>(() => client.ExecuteAsync(new SqlGatewaySession("9b0c5b8e-0000-0000-0000-000000000000"), "SHOW JOBS", Ct));

        Assert.Equal("SHOW JOBS: SqlGatewayException: Session '9b0c5b8e-0000-0000-0000-000000000000' does not exist.", e.Message);
    }

    [Fact]
    public async Task Client_Info_ReportsTheVersion()
    {
        using var client = Client();

        var info = await client.GetInfoAsync(Ct);

        Assert.Equal(new SqlGatewayInfo("Apache Flink", "1.20.1"), info);
    }
}
