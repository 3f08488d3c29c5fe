using System.Text.RegularExpressions;

namespace Breadboard.Flink.Gateway;

/// <summary>A job as <c>SHOW JOBS</c> lists it.</summary>
/// <param name="StartTime">As the gateway prints it (ISO-8601).</param>
public sealed record FlinkJob(string Id, string Name, string Status, string? StartTime)
{
    /// <summary>
    /// Flink's globally terminal states; a job in any other (CREATED, RESTARTING, FAILING, …) may still write the
    /// sinks and hold their transactional ids.
    /// </summary>
    public bool IsActive => Status is not ("FINISHED" or "CANCELED" or "FAILED");
}

/// <summary>What <see cref="FlinkDeployer.CancelAsync"/> stopped.</summary>
/// <param name="SavepointPath">Where the job's state was saved, when a savepoint was asked for.</param>
public sealed record FlinkCancellation(string JobId, string? SavepointPath);

/// <summary>What <see cref="FlinkDeployer.UpgradeAsync"/> did: the job it stopped, where its state went, the job it started from there.</summary>
/// <param name="Verdict">What changed between the two scripts, and what of it keeps the state.</param>
public sealed record FlinkUpgrade(string OldJobId, string SavepointPath, string NewJobId, FlinkStateVerdict Verdict);

/// <summary>Deploys the compiled pipeline through the SQL Gateway, lists its jobs and stops them; one session per call.</summary>
/// <remarks>
/// Job management uses Flink SQL's JOB statements (Flink 1.17+, docs/dev/table/sql/job.md): <c>SHOW JOBS</c> returns
/// the columns <c>job id</c>, <c>job name</c>, <c>status</c>, <c>start time</c>; <c>STOP JOB '&lt;id&gt;' WITH SAVEPOINT</c>
/// returns <c>savepoint path</c>. A restart from a savepoint sets <c>execution.state-recovery.path</c> (Flink 1.20's name;
/// <c>execution.savepoint.path</c> is its deprecated alias, FLINK-34255) before the job's statements.
/// </remarks>
public sealed partial class FlinkDeployer(SqlGatewayClient client)
{
    /// <summary>The session option naming where a restarted job's state comes from.</summary>
    public const string StateRecoveryPathOption = "execution.state-recovery.path";

    private readonly SqlGatewayClient _client = client ?? throw new ArgumentNullException(nameof(client));

    /// <summary>
    /// Runs the statements in order in a new session (after restoring from <paramref name="savepointPath"/> when given)
    /// and returns the id of the job the last one submitted. Refuses when a job of the same name is still active.
    /// </summary>
    /// <param name="statements">As <see cref="FlinkSqlCompiler.CompileStatements"/> returns them; the last submits the job.</param>
    /// <exception cref="FlinkGatewayException">A statement failed, a job of that name is active, or no job id came back.</exception>
    public async Task<string> DeployAsync(IReadOnlyList<string> statements, string jobName, string? savepointPath = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(statements);
        ArgumentException.ThrowIfNullOrWhiteSpace(jobName);
        if (statements.Count == 0)
        {
            throw new ArgumentException("no statements to deploy", nameof(statements));
        }

        return await InSessionAsync($"breadboard-deploy-{jobName}", async session =>
        {
            var active = (await ShowJobsAsync(session, cancellationToken)).Where(j => j.Name == jobName && j.IsActive).ToList();
            if (active.Count > 0)
            {
                throw new FlinkGatewayException($"job '{jobName}' is already {active[0].Status} as {active[0].Id}; stop it first with 'breadboard flink cancel --savepoint', then deploy with --from-savepoint");
            }

            return await SubmitAsync(session, statements, savepointPath, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>The cluster's jobs named <paramref name="jobName"/>, newest first.</summary>
    public async Task<IReadOnlyList<FlinkJob>> StatusAsync(string jobName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobName);
        return await InSessionAsync("breadboard-status", async session =>
        {
            var jobs = await ShowJobsAsync(session, cancellationToken);
            return (IReadOnlyList<FlinkJob>)[.. jobs.Where(j => j.Name == jobName).OrderByDescending(j => j.StartTime, StringComparer.Ordinal)];
        }, cancellationToken);
    }

    /// <summary>
    /// Stops the job <paramref name="jobId"/>, or else the one active job named <paramref name="jobName"/>, with a
    /// savepoint when asked (the cluster's <c>execution.checkpointing.savepoint-dir</c> must be set).
    /// </summary>
    /// <exception cref="FlinkGatewayException">No or several active jobs of that name, or the gateway refused.</exception>
    public async Task<FlinkCancellation> CancelAsync(string jobName, string? jobId, bool withSavepoint, CancellationToken cancellationToken = default)
    {
        if (jobId is not null && !JobIdPattern().IsMatch(jobId))
        {
            throw new ArgumentException($"job id '{jobId}' is not 32 hex digits", nameof(jobId));
        }

        return await InSessionAsync("breadboard-cancel", async session =>
        {
            var id = jobId ?? await ActiveJobAsync(session, jobName, cancellationToken);
            var result = await _client.RunAsync(session, $"STOP JOB '{id}'{(withSavepoint ? " WITH SAVEPOINT" : "")}", cancellationToken);
            var path = withSavepoint ? result.Rows.Select(r => result.Get(r, "savepoint path")).FirstOrDefault(p => !string.IsNullOrEmpty(p)) : null;
            if (withSavepoint && path is null)
            {
                throw new FlinkGatewayException($"STOP JOB '{id}' WITH SAVEPOINT: the gateway returned no savepoint path");
            }

            return new FlinkCancellation(id, path);
        }, cancellationToken);
    }

    /// <summary>
    /// Replaces the one active job named <paramref name="jobName"/> by <paramref name="statements"/> with its state:
    /// checks that the new script keeps the running one's state (<see cref="FlinkStateCompatibility"/>), then stops
    /// the job with a savepoint and runs the new script from it, in one session.
    /// </summary>
    /// <param name="deployedStatements">The script the running job was submitted with, or null when it is not known.</param>
    /// <exception cref="FlinkUpgradeRefusedException">Nothing was stopped: no single active job, its script unknown, or
    /// the new script cannot keep its state. The message is one line.</exception>
    /// <exception cref="FlinkGatewayException">The stop with savepoint failed (the message says the job's status after
    /// it), or the new job did not start from the savepoint (the message names the savepoint).</exception>
    public async Task<FlinkUpgrade> UpgradeAsync(
        IReadOnlyList<string> statements,
        string jobName,
        Func<FlinkJob, CancellationToken, ValueTask<IReadOnlyList<string>?>> deployedStatements,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(statements);
        ArgumentNullException.ThrowIfNull(deployedStatements);
        ArgumentException.ThrowIfNullOrWhiteSpace(jobName);
        if (statements.Count == 0)
        {
            throw new ArgumentException("no statements to deploy", nameof(statements));
        }

        return await InSessionAsync($"breadboard-upgrade-{jobName}", async session =>
        {
            var active = (await ShowJobsAsync(session, cancellationToken)).Where(j => j.Name == jobName && j.IsActive).ToList();
            var job = active.Count switch
            {
                1 => active[0],
                0 => throw new FlinkUpgradeRefusedException($"cannot upgrade: no active job named '{jobName}' on the cluster; deploy without --upgrade"),
                _ => throw new FlinkUpgradeRefusedException($"cannot upgrade: {active.Count} active jobs named '{jobName}' ({string.Join(", ", active.Select(j => j.Id))}); stop all but one with 'breadboard flink cancel --job ID'"),
            };
            if (job.Status != "RUNNING")
            {
                // A savepoint needs every task running (CheckpointCoordinator refuses it otherwise).
                throw new FlinkUpgradeRefusedException($"cannot upgrade: job {job.Id} is {job.Status}, and only a RUNNING job can take a savepoint; try again when it runs");
            }

            var running = await deployedStatements(job, cancellationToken)
                ?? throw new FlinkUpgradeRefusedException($"cannot upgrade with state: the SQL job {job.Id} runs is not known here (no deployment record for it); pass --previous with the pipeline file it was deployed from");
            var verdict = FlinkStateCompatibility.Check(running, statements);
            if (!verdict.KeepsState)
            {
                throw new FlinkUpgradeRefusedException(FlinkStateCompatibility.Refusal(verdict));
            }

            string savepoint;
            try
            {
                var stopped = await _client.RunAsync(session, $"STOP JOB '{job.Id}' WITH SAVEPOINT", cancellationToken);
                savepoint = stopped.Rows.Select(r => stopped.Get(r, "savepoint path")).FirstOrDefault(p => !string.IsNullOrEmpty(p))
                    ?? throw new FlinkGatewayException($"STOP JOB '{job.Id}' WITH SAVEPOINT: the gateway returned no savepoint path");
            }
            catch (FlinkGatewayException e)
            {
                // Flink keeps a job running when its savepoint fails; a timeout on the way may still stop it later,
                // so the message says what the cluster reports now rather than promising either.
                var now = await StatusAfterAsync(session, job.Id, cancellationToken);
                throw new FlinkGatewayException($"upgrade stopped before it began: {e.Message}; job {job.Id} is {now}, nothing new was submitted", e);
            }

            try
            {
                var jobId = await SubmitAsync(session, statements, savepoint, cancellationToken);
                return new FlinkUpgrade(job.Id, savepoint, jobId, verdict);
            }
            catch (FlinkGatewayException e)
            {
                throw new FlinkGatewayException($"job {job.Id} was stopped with savepoint {savepoint}, but the new job did not start from it: {e.Message}; restart the old pipeline with 'breadboard flink deploy --from-savepoint {savepoint}'", e)
                {
                    Statement = e.Statement,
                    Cause = e.Cause,
                };
            }
        }, cancellationToken);
    }

    private async Task<string> StatusAfterAsync(SqlGatewaySession session, string jobId, CancellationToken cancellationToken)
    {
        try
        {
            return (await ShowJobsAsync(session, cancellationToken)).FirstOrDefault(j => j.Id == jobId)?.Status ?? "no longer listed";
        }
        catch (FlinkGatewayException)
        {
            return "of unknown status (SHOW JOBS failed too)";
        }
    }

    /// <summary>The statements after the recovery path, when given; the job id the last one submitted.</summary>
    private async Task<string> SubmitAsync(SqlGatewaySession session, IReadOnlyList<string> statements, string? savepointPath, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(savepointPath))
        {
            await _client.RunAsync(session, $"SET '{StateRecoveryPathOption}' = {Literal(savepointPath)}", cancellationToken);
        }

        SqlGatewayResult? last = null;
        foreach (var statement in statements)
        {
            last = await _client.RunAsync(session, statement, cancellationToken);
        }

        var jobId = last!.JobId ?? last.Rows.Select(r => last.Get(r, "job id")).FirstOrDefault(id => !string.IsNullOrEmpty(id));
        return jobId ?? throw new FlinkGatewayException($"{FlinkGatewayException.Summarize(statements[^1])}: the gateway returned no job id");
    }

    private async Task<string> ActiveJobAsync(SqlGatewaySession session, string jobName, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobName);
        var active = (await ShowJobsAsync(session, cancellationToken)).Where(j => j.Name == jobName && j.IsActive).ToList();
        return active.Count switch
        {
            1 => active[0].Id,
            0 => throw new FlinkGatewayException($"no active job named '{jobName}' on the cluster"),
            _ => throw new FlinkGatewayException($"{active.Count} active jobs named '{jobName}' ({string.Join(", ", active.Select(j => j.Id))}); name one with --job"),
        };
    }

    private async Task<List<FlinkJob>> ShowJobsAsync(SqlGatewaySession session, CancellationToken cancellationToken)
    {
        var result = await _client.RunAsync(session, "SHOW JOBS", cancellationToken);
        return [.. result.Rows.Select(r => new FlinkJob(result.Get(r, "job id") ?? "", result.Get(r, "job name") ?? "", result.Get(r, "status") ?? "", result.Get(r, "start time")))];
    }

    /// <summary>Runs <paramref name="body"/> in a new session and closes it whatever happens.</summary>
    private async Task<T> InSessionAsync<T>(string name, Func<SqlGatewaySession, Task<T>> body, CancellationToken cancellationToken)
    {
        var session = await _client.OpenSessionAsync(name, cancellationToken: cancellationToken);
        try
        {
            return await body(session);
        }
        finally
        {
            try
            {
                await _client.CloseSessionAsync(session, CancellationToken.None);
            }
            catch (FlinkGatewayException)
            {
                // The statement's outcome matters, not the cleanup: an unclosed session expires on the gateway
                // (sql-gateway.session.idle-timeout) and the submitted job does not depend on it.
            }
        }
    }

    /// <summary>A SQL string literal: quotes doubled.</summary>
    private static string Literal(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    [GeneratedRegex("^[0-9a-fA-F]{32}$")]
    private static partial Regex JobIdPattern();
}
