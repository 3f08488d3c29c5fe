using System.Text.Json;
using System.Text.RegularExpressions;

namespace Breadboard.Flink.Gateway;

/// <summary>
/// The SQL each deployed job was submitted with, one JSON file per job id in a directory, so that
/// <c>flink deploy --upgrade</c> can compare the running job's SQL with the new one.
/// </summary>
/// <remarks>
/// Flink 1.20 cannot give a job's SQL back: through the gateway, <c>SHOW JOBS</c> lists id, name, status and start
/// time only (flink-sql-gateway <c>OperationExecutor.callShowJobsOperation</c>), and <c>DESCRIBE JOB</c> is not in
/// 1.20. A record keyed by the job id is exactly what that job runs, whatever Breadboard version compiled it; the
/// pipeline file it came from, compiled again today, might not be. It lives where the deploy ran: a deploy from
/// elsewhere leaves none here, and the upgrade then needs the pipeline file it was deployed from.
/// </remarks>
public sealed partial class FlinkDeploymentRecords(string directory)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public string Directory { get; } = string.IsNullOrWhiteSpace(directory) ? throw new ArgumentException("a directory is needed", nameof(directory)) : directory;

    /// <summary>The record's path; the id is checked to be a job id, so it cannot name another file.</summary>
    public string PathOf(string jobId)
    {
        ArgumentNullException.ThrowIfNull(jobId);
        return JobIdPattern().IsMatch(jobId)
            ? Path.Combine(Directory, jobId.ToLowerInvariant() + ".json")
            : throw new ArgumentException($"'{jobId}' is not a Flink job id (32 hex digits)", nameof(jobId));
    }

    /// <summary>Writes the record whole or not at all (a temporary file renamed over it).</summary>
    public async Task SaveAsync(string jobId, string jobName, IReadOnlyList<string> statements, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(statements);
        var path = PathOf(jobId);
        System.IO.Directory.CreateDirectory(Directory);
        var temp = path + ".tmp";
        var record = new Record(jobId, jobName, DateTimeOffset.UtcNow, [.. statements]);
        await using (var stream = File.Create(temp))
        {
            await JsonSerializer.SerializeAsync(stream, record, Json, cancellationToken);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The statements the job was submitted with; null when there is no record of it.</summary>
    /// <exception cref="InvalidDataException">The file is there but not a record.</exception>
    public async Task<IReadOnlyList<string>?> LoadAsync(string jobId, CancellationToken cancellationToken = default)
    {
        var path = PathOf(jobId);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            await using var stream = File.OpenRead(path);
            var record = await JsonSerializer.DeserializeAsync<Record>(stream, Json, cancellationToken);
            return record?.Statements is { Count: > 0 } statements ? statements : throw new InvalidDataException($"{path}: a deployment record without statements");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a deployment record ({e.Message})", e);
        }
    }

    private sealed record Record(string JobId, string JobName, DateTimeOffset DeployedAt, List<string> Statements);

    [GeneratedRegex("^[0-9a-fA-F]{32}$")]
    private static partial Regex JobIdPattern();
}
