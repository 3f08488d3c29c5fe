using System.CommandLine;
using Breadboard.Cli.Settings;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Flink;
using Breadboard.Flink.Gateway;

namespace Breadboard.Cli.Commands;

/// <summary>
/// <c>breadboard flink sql|deploy|status|cancel</c>: the pipeline compiled to Flink SQL, and run, watched and stopped on
/// a Flink cluster through its SQL Gateway (<c>--engine flink+http://gateway:8083</c>).
/// </summary>
internal static class FlinkCommand
{
    /// <summary>Exit code when the gateway refused or failed a request (a usage error stays 2).</summary>
    public const int GatewayFailed = 1;

    public static Command Create()
    {
        var pipeline = CommandRunner.PipelineOption();
        var jobName = new Option<string>("--job-name") { Description = "The Flink job's name (pipeline.name).", DefaultValueFactory = _ => "breadboard" };
        var parallelism = new Option<int>("--parallelism") { Description = "parallelism.default of the job.", DefaultValueFactory = _ => 2 };
        var checkpointInterval = new Option<string>("--checkpoint-interval") { Description = "Exactly-once checkpoint interval (30s, 1m).", DefaultValueFactory = _ => "30s" };
        var fromSavepoint = new Option<string?>("--from-savepoint") { Description = "Restore the job's state from this savepoint (the path 'flink cancel --savepoint' printed)." };
        var withSavepoint = new Option<bool>("--savepoint") { Description = "Take a savepoint before stopping (the cluster's execution.checkpointing.savepoint-dir must be set) and print its path." };
        var jobId = new Option<string?>("--job") { Description = "The job id to stop, when several jobs have the name." };

        var sql = new Command("sql", $"Print the pipeline compiled to Flink SQL (Flink {FlinkSqlCompiler.TargetFlinkVersion}): Kafka sources from --bus kafka://…, window TVFs, rules, exactly-once Kafka sinks.")
        {
            pipeline, jobName, parallelism, checkpointInterval,
        };
        sql.SetAction((parse, _) => CommandRunner.RunAsync(() =>
        {
            var options = Options(parse, pipeline, jobName, parallelism, checkpointInterval, out var definition);
            Console.Write(Compile("sql", () => FlinkSqlCompiler.Compile(definition, options)));
            return Task.FromResult(0);
        }));

        var ifNotRunning = new Option<bool>("--if-not-running") { Description = "When a job of that name is already active, say so and exit 0 instead of refusing (a deployment Job that runs on every rollout)." };
        var upgrade = new Option<bool>("--upgrade") { Description = "Replace the running job of that name with its state: check the new SQL keeps it, stop the job with a savepoint, start the new SQL from it; refuse in one line (exit 2) otherwise, leaving the job running." };
        var previous = new Option<string?>("--previous") { Description = "With --upgrade: the pipeline file the running job was deployed from, when this machine has no deployment record of it." };
        var deployments = new Option<string>("--deployments") { Description = "Where deploy records the SQL each job was submitted with (one file per job id), for a later --upgrade.", DefaultValueFactory = _ => DefaultDeployments };
        var deploy = new Command("deploy", "Submit the compiled pipeline to the Flink cluster behind --engine flink+http://gateway:8083; refuses while a job of the same name is active, unless --upgrade.")
        {
            pipeline, jobName, parallelism, checkpointInterval, fromSavepoint, ifNotRunning, upgrade, previous, deployments,
        };
        deploy.SetAction((parse, ct) => CommandRunner.RunAsync(async () =>
        {
            var options = Options(parse, pipeline, jobName, parallelism, checkpointInterval, out var definition);
            var statements = Compile("deploy", () => FlinkSqlCompiler.CompileStatements(definition, options));
            var isUpgrade = parse.GetValue(upgrade);
            if (isUpgrade && (parse.GetValue(fromSavepoint) is not null || parse.GetValue(ifNotRunning)))
            {
                throw new SettingException("flink deploy --upgrade takes its savepoint from the running job: leave out --from-savepoint and --if-not-running");
            }

            var previousFile = parse.GetValue(previous);
            if (previousFile is not null && !isUpgrade)
            {
                throw new SettingException("flink deploy --previous only goes with --upgrade");
            }

            var previousStatements = previousFile is null ? null : Compile("deploy", () => FlinkSqlCompiler.CompileStatements(LoadPrevious(previousFile), options));
            var records = new FlinkDeploymentRecords(parse.GetValue(deployments)!);
            var gateway = Gateway(parse, "deploy");
            try
            {
                return await OnGatewayAsync("deploy", async () =>
                {
                    using var client = new SqlGatewayClient(gateway);
                    var deployer = new FlinkDeployer(client);
                    if (isUpgrade)
                    {
                        var done = await deployer.UpgradeAsync(statements, options.JobName, async (job, token) => await records.LoadAsync(job.Id, token) ?? previousStatements, ct);
                        var savepoint = OutsideText.ForDisplay(done.SavepointPath, maxLength: 1000);
                        Console.WriteLine($"flink deploy: job '{options.JobName}' {OutsideText.ForDisplay(done.OldJobId)} stopped with savepoint {savepoint}");
                        Console.WriteLine($"flink deploy: job '{options.JobName}' submitted as {OutsideText.ForDisplay(done.NewJobId)} from that savepoint through {gateway}");
                        Console.WriteLine(done.Verdict.Tolerated.Count == 0
                            ? "state kept: the SQL is unchanged"
                            : $"state kept across: {string.Join("; ", done.Verdict.Tolerated)}");
                        await RecordAsync(records, done.NewJobId, options.JobName, statements, ct);
                        return;
                    }

                    if (parse.GetValue(ifNotRunning) && (await deployer.StatusAsync(options.JobName, ct)).FirstOrDefault(j => j.IsActive) is { } active)
                    {
                        Console.WriteLine($"flink deploy: job '{options.JobName}' is already {OutsideText.ForDisplay(active.Status)} as {OutsideText.ForDisplay(active.Id)} on {gateway}; nothing to do");
                        return;
                    }

                    var id = await deployer.DeployAsync(statements, options.JobName, parse.GetValue(fromSavepoint), ct);
                    Console.WriteLine($"flink deploy: job '{options.JobName}' submitted as {OutsideText.ForDisplay(id)} through {gateway}");
                    Console.WriteLine($"the Flink web UI shows it under Jobs > Running Jobs (JobManager port 8081, #/job/running/{OutsideText.ForDisplay(id)}); 'breadboard flink status' lists it here");
                    await RecordAsync(records, id, options.JobName, statements, ct);
                });
            }
            catch (FlinkUpgradeRefusedException e)
            {
                throw new SettingException($"flink deploy: {OutsideText.ForDisplay(e.Message, maxLength: 2000)}");
            }
        }));

        var status = new Command("status", "List the cluster's jobs named --job-name: id, status, start time; newest first.") { jobName };
        status.SetAction((parse, ct) => CommandRunner.RunAsync(async () =>
        {
            var gateway = Gateway(parse, "status");
            var name = parse.GetValue(jobName)!;
            return await OnGatewayAsync("status", async () =>
            {
                using var client = new SqlGatewayClient(gateway);
                var jobs = await new FlinkDeployer(client).StatusAsync(name, ct);
                if (jobs.Count == 0)
                {
                    Console.WriteLine($"no job named '{name}' on the cluster behind {gateway}");
                }

                foreach (var job in jobs)
                {
                    // The cluster's words: shown without any escape sequence they may carry.
                    Console.WriteLine($"{OutsideText.ForDisplay(job.Id)}  {OutsideText.ForDisplay(job.Status),-11}  {OutsideText.ForDisplay(job.StartTime ?? "-")}  {OutsideText.ForDisplay(job.Name)}");
                }
            });
        }));

        var cancel = new Command("cancel", "Stop the active job named --job-name (or --job ID), with --savepoint taking a savepoint first.") { jobName, jobId, withSavepoint };
        cancel.SetAction((parse, ct) => CommandRunner.RunAsync(async () =>
        {
            var gateway = Gateway(parse, "cancel");
            var id = parse.GetValue(jobId);
            if (id is not null && (id.Length != 32 || !id.All(char.IsAsciiHexDigit)))
            {
                throw new SettingException($"--job '{id}': a Flink job id is 32 hex digits");
            }

            return await OnGatewayAsync("cancel", async () =>
            {
                using var client = new SqlGatewayClient(gateway);
                var stopped = await new FlinkDeployer(client).CancelAsync(parse.GetValue(jobName)!, id, parse.GetValue(withSavepoint), ct);
                if (stopped.SavepointPath is null)
                {
                    Console.WriteLine($"flink cancel: job {OutsideText.ForDisplay(stopped.JobId)} cancelled");
                }
                else
                {
                    var savepoint = OutsideText.ForDisplay(stopped.SavepointPath, maxLength: 1000);
                    Console.WriteLine(savepoint);
                    Console.WriteLine($"flink cancel: job {OutsideText.ForDisplay(stopped.JobId)} stopped with the savepoint above; resume with 'breadboard flink deploy --from-savepoint {savepoint}'");
                }
            });
        }));

        return new Command("flink", "The Flink engine: the pipeline as Flink SQL, deployed and managed through the SQL Gateway.") { sql, deploy, status, cancel };
    }

    /// <summary>Relative to the working directory, as the pipeline file usually is.</summary>
    private const string DefaultDeployments = ".breadboard/flink-deployments";

    private static PipelineDefinition LoadPrevious(string path) =>
        File.Exists(path) ? PipelineLoader.Parse(File.ReadAllText(path), path) : throw new SettingException($"--previous '{path}': file not found");

    /// <summary>
    /// Keeps the submitted SQL for a later --upgrade. The job runs whether or not this works (a deployment Job on a
    /// read-only file system), so a failure is a warning, not an error.
    /// </summary>
    private static async Task RecordAsync(FlinkDeploymentRecords records, string jobId, string jobName, IReadOnlyList<string> statements, CancellationToken cancellationToken)
    {
        try
        {
            await records.SaveAsync(jobId, jobName, statements, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            await Console.Error.WriteLineAsync($"warning: flink deploy: the job runs, but its SQL was not recorded in {records.Directory} ({e.Message}); a later --upgrade will need --previous");
        }
    }

    private static FlinkOptions Options(ParseResult parse, Option<string?> pipeline, Option<string> jobName, Option<int> parallelism, Option<string> checkpointInterval, out PipelineDefinition definition)
    {
        definition = CommandRunner.LoadPipeline(parse.GetValue(pipeline));
        var bus = Backends.KafkaBus(parse);
        var intervalText = parse.GetValue(checkpointInterval)!;
        if (!DurationText.TryParse(intervalText, out var intervalMs))
        {
            throw new SettingException($"--checkpoint-interval '{intervalText}': use a duration like 30s or 1m");
        }

        return new FlinkOptions
        {
            BootstrapServers = bus.BootstrapServers,
            JobName = parse.GetValue(jobName)!,
            Parallelism = parse.GetValue(parallelism),
            CheckpointInterval = TimeSpan.FromMilliseconds(intervalMs),
        };
    }

    private static T Compile<T>(string command, Func<T> compile)
    {
        try
        {
            return compile();
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            throw new SettingException($"flink {command}: {(e is ArgumentException a ? CommandRunner.OneLine(a) : e.Message)}");
        }
    }

    /// <summary>The SQL Gateway named by --engine; the local engine cannot take a Flink job.</summary>
    private static Uri Gateway(ParseResult parse, string command)
    {
        var engine = Seams.Engine.Resolve(parse);
        if (!Seam.SchemeOf(engine).StartsWith("flink+", StringComparison.OrdinalIgnoreCase))
        {
            throw new SettingException($"flink {command} needs --engine flink+http://gateway:8083 (the cluster's SQL Gateway); {Seams.Engine.Describe(engine)}");
        }

        try
        {
            return FlinkEngineUrl.Parse(engine);
        }
        catch (ArgumentException e)
        {
            throw new SettingException($"{Seams.Engine.Describe(engine)}: {CommandRunner.OneLine(e)}");
        }
    }

    /// <summary>A gateway failure is one line and exit code 1: the request was valid, the cluster refused or failed it.</summary>
    private static async Task<int> OnGatewayAsync(string command, Func<Task> body)
    {
        try
        {
            await body();
            return 0;
        }
        catch (FlinkGatewayException e)
        {
            await Console.Error.WriteLineAsync($"error: flink {command}: {e.Message}");
            return GatewayFailed;
        }
    }
}
