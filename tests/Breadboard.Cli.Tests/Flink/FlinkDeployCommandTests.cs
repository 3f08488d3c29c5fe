using Breadboard.Core.Pipeline;
using Breadboard.Flink;
using Breadboard.TestKit;
using Breadboard.TestKit.Flink;

namespace Breadboard.Cli.Tests.Flink;

/// <summary><c>breadboard flink deploy|status|cancel</c> through the real CLI against a fake SQL Gateway.</summary>
public sealed class FlinkDeployCommandTests : IAsyncLifetime
{
    private FakeFlinkGateway _gateway = null!;

    public async ValueTask InitializeAsync() => _gateway = await FakeFlinkGateway.StartAsync(TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task FlinkDeploy_PrintsTheJobIdAndSubmitsTheCompiledStatements()
    {
        using var dir = new TempDir();

        var result = await CliProcess.RunAsync(dir.Path, ["flink", "deploy", "--engine", _gateway.EngineUrl, "--bus", "kafka://kafka:9092", "--job-name", "bb-prod"]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var job = Assert.Single(_gateway.Jobs);
        Assert.Contains($"job 'bb-prod' submitted as {job.Id}", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("web UI", result.Stdout, StringComparison.Ordinal);
        var compiled = FlinkSqlCompiler.CompileStatements(PipelineDefinition.Default, new FlinkOptions { BootstrapServers = "kafka:9092", JobName = "bb-prod" });
        Assert.Equal(["SHOW JOBS", .. compiled], _gateway.Statements);
        Assert.Equal(_gateway.OpenedSessions, _gateway.ClosedSessions);
    }

    [Fact]
    public async Task FlinkDeploy_IfNotRunning_SecondDeployLeavesTheRunningJobAndExits0_WithoutItRefuses()
    {
        using var dir = new TempDir();
        string[] deploy = ["flink", "deploy", "--engine", _gateway.EngineUrl, "--bus", "kafka://kafka:9092"];

        var first = await CliProcess.RunAsync(dir.Path, [.. deploy, "--if-not-running"]);
        var second = await CliProcess.RunAsync(dir.Path, [.. deploy, "--if-not-running"]);
        var refused = await CliProcess.RunAsync(dir.Path, deploy);

        Assert.True(first.ExitCode == 0, first.Stderr);
        var job = Assert.Single(_gateway.Jobs);
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Contains($"job 'breadboard' is already RUNNING as {job.Id}", second.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("already RUNNING", refused.ErrorLines.Single(), StringComparison.Ordinal);
        Assert.Single(_gateway.Jobs);
    }

    [Fact]
    public async Task FlinkDeploy_StatementFails_IsOneLineAndExitCode1()
    {
        _gateway.FailWith = s => s.StartsWith("CREATE TABLE stock_prices", StringComparison.Ordinal)
            ? "org.apache.flink.table.api.ValidationException: Could not find any factory for identifier 'kafka'"
            : null;
        using var dir = new TempDir();

        var result = await CliProcess.RunAsync(dir.Path, ["flink", "deploy", "--bus", "kafka://kafka:9092"], new Dictionary<string, string> { ["BREADBOARD_ENGINE"] = _gateway.EngineUrl });

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("error: flink deploy: CREATE TABLE stock_prices: ValidationException: Could not find any factory for identifier 'kafka'", result.ErrorLines.Single());
        Assert.Empty(_gateway.Jobs);
    }

    [Fact]
    public async Task FlinkDeploy_GatewayDown_IsOneLineNamingTheUrl()
    {
        var port = Breadboard.TestKit.ServerProcess.FreePort();
        using var dir = new TempDir();

        var result = await CliProcess.RunAsync(dir.Path, ["flink", "deploy", "--engine", $"flink+http://127.0.0.1:{port}", "--bus", "kafka://kafka:9092"]);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"error: flink deploy: Flink SQL Gateway at http://127.0.0.1:{port}/ is not reachable", result.ErrorLines.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FlinkDeploy_LocalEngine_IsAOneLineUsageError()
    {
        using var dir = new TempDir();

        var result = await CliProcess.RunAsync(dir.Path, ["flink", "deploy", "--bus", "kafka://kafka:9092"]);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("error: flink deploy needs --engine flink+http://gateway:8083", result.ErrorLines.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FlinkStatusAndCancel_ListTheJobAndStopItWithASavepoint()
    {
        using var dir = new TempDir();
        var engine = new Dictionary<string, string> { ["BREADBOARD_ENGINE"] = _gateway.EngineUrl };
        var deployed = await CliProcess.RunAsync(dir.Path, ["flink", "deploy", "--bus", "kafka://kafka:9092"], engine);
        Assert.True(deployed.ExitCode == 0, deployed.Stderr);
        var id = Assert.Single(_gateway.Jobs).Id;

        var status = await CliProcess.RunAsync(dir.Path, ["flink", "status"], engine);
        var cancel = await CliProcess.RunAsync(dir.Path, ["flink", "cancel", "--savepoint"], engine);
        var again = await CliProcess.RunAsync(dir.Path, ["flink", "cancel"], engine);

        Assert.True(status.ExitCode == 0, status.Stderr);
        Assert.StartsWith($"{id}  RUNNING", status.Stdout.Split('\n').Single(l => l.Length > 0), StringComparison.Ordinal);
        Assert.True(cancel.ExitCode == 0, cancel.Stderr);
        Assert.StartsWith($"file:/tmp/flink-savepoints/savepoint-{id[..6]}-", cancel.Stdout, StringComparison.Ordinal);
        Assert.Equal($"STOP JOB '{id}' WITH SAVEPOINT", _gateway.Statements[^2]);
        Assert.Equal(1, again.ExitCode);
        Assert.Equal("error: flink cancel: no active job named 'breadboard' on the cluster", again.ErrorLines.Single());
    }

    private static readonly string Shipped = File.ReadAllText(Path.Combine(Repository.Root(), "config", "pipeline.yaml"));

    [Fact]
    public async Task FlinkDeployUpgrade_ChangedThreshold_StopsWithSavepointAndStartsTheNewSqlFromIt()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("pipeline.yaml"), Shipped);
        File.WriteAllText(dir.File("tighter.yaml"), Shipped.Replace("threshold_percent: -5", "threshold_percent: -3", StringComparison.Ordinal));
        string[] deploy = ["flink", "deploy", "--engine", _gateway.EngineUrl, "--bus", "kafka://kafka:9092"];
        var first = await CliProcess.RunAsync(dir.Path, [.. deploy, "--pipeline", "pipeline.yaml"]);
        Assert.True(first.ExitCode == 0, first.Stderr);
        var oldId = Assert.Single(_gateway.Jobs).Id;
        Assert.True(File.Exists(dir.File($".breadboard/flink-deployments/{oldId}.json")));
        var sent = _gateway.Statements.Count;

        var upgrade = await CliProcess.RunAsync(dir.Path, [.. deploy, "--pipeline", "tighter.yaml", "--upgrade"]);

        Assert.True(upgrade.ExitCode == 0, upgrade.Stderr);
        var savepoint = _gateway.Statements[sent + 2]["SET 'execution.state-recovery.path' = '".Length..^1];
        Assert.Equal(["SHOW JOBS", $"STOP JOB '{oldId}' WITH SAVEPOINT"], _gateway.Statements.Skip(sent).Take(2));
        Assert.StartsWith("EXECUTE STATEMENT SET", _gateway.Statements[^1], StringComparison.Ordinal);
        var started = _gateway.Jobs[^1];
        Assert.Equal(("RUNNING", savepoint), (started.Status, started.RestoredFrom));
        Assert.Equal("FINISHED", _gateway.Jobs[0].Status);
        Assert.Contains($"{oldId} stopped with savepoint {savepoint}", upgrade.Stdout, StringComparison.Ordinal);
        Assert.Contains($"submitted as {started.Id} from that savepoint", upgrade.Stdout, StringComparison.Ordinal);
        Assert.Contains("state kept across: rule 'price_drop': name, threshold or comparison", upgrade.Stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(dir.File($".breadboard/flink-deployments/{started.Id}.json")));
    }

    [Fact]
    public async Task FlinkDeployUpgrade_ChangedWindow_IsRefusedInOneLineWithExitCode2_AndTheJobKeepsRunning()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("wider.yaml"), Shipped.Replace("size: 60s", "size: 120s", StringComparison.Ordinal));
        string[] deploy = ["flink", "deploy", "--engine", _gateway.EngineUrl, "--bus", "kafka://kafka:9092"];
        var first = await CliProcess.RunAsync(dir.Path, deploy);
        Assert.True(first.ExitCode == 0, first.Stderr);
        var sent = _gateway.Statements.Count;

        var refused = await CliProcess.RunAsync(dir.Path, [.. deploy, "--pipeline", "wider.yaml", "--upgrade"]);

        Assert.Equal(2, refused.ExitCode);
        Assert.StartsWith("error: flink deploy: cannot upgrade with state: window '1m' (bars_0) changed; ", refused.ErrorLines.Single(), StringComparison.Ordinal);
        Assert.Equal(["SHOW JOBS"], _gateway.Statements.Skip(sent));
        Assert.Equal("RUNNING", Assert.Single(_gateway.Jobs).Status);
    }

    [Fact]
    public async Task FlinkDeployUpgrade_NoRecordHere_UsesPrevious_AndWithoutItIsRefused()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("pipeline.yaml"), Shipped);
        File.WriteAllText(dir.File("tighter.yaml"), Shipped.Replace("factor: 5", "factor: 4", StringComparison.Ordinal));
        string[] deploy = ["flink", "deploy", "--engine", _gateway.EngineUrl, "--bus", "kafka://kafka:9092", "--deployments", "elsewhere"];
        var first = await CliProcess.RunAsync(dir.Path, [.. deploy, "--pipeline", "pipeline.yaml"]);
        Assert.True(first.ExitCode == 0, first.Stderr);
        Directory.Delete(dir.File("elsewhere"), recursive: true);

        var unknown = await CliProcess.RunAsync(dir.Path, [.. deploy, "--pipeline", "tighter.yaml", "--upgrade"]);
        var known = await CliProcess.RunAsync(dir.Path, [.. deploy, "--pipeline", "tighter.yaml", "--upgrade", "--previous", "pipeline.yaml"]);

        Assert.Equal(2, unknown.ExitCode);
        Assert.EndsWith("pass --previous with the pipeline file it was deployed from", unknown.ErrorLines.Single(), StringComparison.Ordinal);
        Assert.True(known.ExitCode == 0, known.Stderr);
        Assert.Equal(["FINISHED", "RUNNING"], _gateway.Jobs.Select(j => j.Status));
    }

    [Fact]
    public async Task FlinkDeployUpgrade_StopFails_IsOneLineWithExitCode1_AndTheJobKeepsRunning()
    {
        using var dir = new TempDir();
        string[] deploy = ["flink", "deploy", "--engine", _gateway.EngineUrl, "--bus", "kafka://kafka:9092"];
        var first = await CliProcess.RunAsync(dir.Path, deploy);
        Assert.True(first.ExitCode == 0, first.Stderr);
        var id = Assert.Single(_gateway.Jobs).Id;
        _gateway.FailWith = s => s.StartsWith("STOP JOB", StringComparison.Ordinal)
            ? "java.lang.IllegalStateException: No savepoint directory configured. You can either specify a directory while cancelling via -s :targetDirectory or configure a cluster-wide default via key 'execution.checkpointing.savepoint-dir'."
            : null;

        var result = await CliProcess.RunAsync(dir.Path, [.. deploy, "--upgrade"]);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal(
            $"error: flink deploy: upgrade stopped before it began: STOP JOB '{id}' WITH SAVEPOINT: IllegalStateException: No savepoint directory configured. You can either specify a directory while cancelling via -s :targetDirectory or configure a cluster-wide default via key 'execution.checkpointing.savepoint-dir'.; job {id} is RUNNING, nothing new was submitted",
            result.ErrorLines.Single());
        Assert.Equal("RUNNING", Assert.Single(_gateway.Jobs).Status);
    }
}
