using System.Globalization;
using System.Text.RegularExpressions;
using Breadboard.Core.Seams;
using DuckDB.NET.Data;

namespace Breadboard.DuckDb;

/// <summary>A database file looked at without opening it for writing: for <c>doctor</c>, which must change nothing.</summary>
public static partial class DuckDbFile
{
    /// <summary>The schema version this build writes; a store migrates an older file to it when it opens it.</summary>
    public static int LatestSchemaVersion => DuckDbSchema.LatestVersion;

    /// <summary>
    /// Reads the schema version of the file at <paramref name="path"/> opened read-only: nothing is migrated,
    /// checkpointed or created. A file another process has open for writing cannot be opened at all (DuckDB locks
    /// it); then <see cref="DuckDbFileState.HeldBy"/> says by which process and the version is unknown.
    /// </summary>
    /// <remarks>
    /// For the few milliseconds this takes, the file is share-locked: a process opening it for writing in that
    /// instant is refused, as it would be by any reader.
    /// </remarks>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="DuckDBException">The file is not a database this DuckDB can read.</exception>
    public static async Task<DuckDbFileState> InspectAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"no DuckDB database at '{full}'", full);
        }

        var builder = new DuckDBConnectionStringBuilder { DataSource = full };
        builder["ACCESS_MODE"] = "READ_ONLY";
        await using var connection = new DuckDBConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
        }
        catch (DuckDBException e) when (e.Message.Contains("Could not set lock", StringComparison.Ordinal))
        {
            var holder = LockHolder().Match(e.Message);
            return new DuckDbFileState(null, holder.Success
                ? $"PID {holder.Groups["pid"].Value} ({OutsideText.ForDisplay(holder.Groups["program"].Value, 200)})"
                : "another process");
        }

        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = 'schema_version'";
        if (Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) == 0)
        {
            return new DuckDbFileState(0, null);
        }

        command.CommandText = "SELECT coalesce(max(version), 0) FROM schema_version";
        return new DuckDbFileState(Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture), null);
    }

    // DuckDB's words: Could not set lock on file "…": Conflicting lock is held in /usr/bin/dotnet (PID 1234) by user …
    [GeneratedRegex(@"Conflicting lock is held in (?<program>.+?) \(PID (?<pid>\d+)\)")]
    private static partial Regex LockHolder();
}

/// <summary>What <see cref="DuckDbFile.InspectAsync"/> found.</summary>
/// <param name="SchemaVersion">The file's schema version (0: no Breadboard tables yet); null when it could not be read.</param>
/// <param name="HeldBy">The process that has the file open for writing (<c>PID 1234 (/usr/bin/dotnet)</c>), or null.</param>
public sealed record DuckDbFileState(int? SchemaVersion, string? HeldBy);
