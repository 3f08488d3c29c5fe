using System.Text.Json;
using System.Text.RegularExpressions;
using Breadboard.Batch.Providers;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;

namespace Breadboard.Batch.Staging;

/// <summary>What a fetch was asked for; a run id keeps it, so a resumed run fetches the same thing.</summary>
public sealed record FetchRequest(string Provider, IReadOnlyList<string> Symbols, long From, long To, string Interval);

/// <summary>
/// One run's folder under the staging root (<c>data/staging/RUN_ID</c>): the request, one NDJSON file of bars per
/// symbol, the validation report, and a marker per finished step. Every file is written to a temporary name and
/// renamed, so a crash leaves a step either done or not started, never half written.
/// </summary>
public sealed partial class StagedRun
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private StagedRun(string runId, string directory)
    {
        RunId = runId;
        Directory = directory;
    }

    public string RunId { get; }

    public string Directory { get; }

    public string ReportPath => Path.Combine(Directory, "report.json");

    /// <summary>The run's folder under <paramref name="root"/>; a run id that is not a plain name throws <see cref="ArgumentException"/>.</summary>
    public static StagedRun Open(string root, string runId)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (string.IsNullOrEmpty(runId) || !RunIdPattern().IsMatch(runId) || runId is "." or "..")
        {
            throw new ArgumentException($"--run-id '{runId}': use letters, digits and . _ - : + (at most 200), as Airflow's run ids do");
        }

        return new StagedRun(runId, Path.Combine(root, runId));
    }

    public bool Exists => System.IO.Directory.Exists(Directory);

    public bool IsDone(string step) => File.Exists(Marker(step));

    public async Task MarkDoneAsync(string step, string detail, CancellationToken cancellationToken) =>
        await WriteAtomicAsync(Marker(step), detail + "\n", cancellationToken);

    public void ClearMarker(string step) => File.Delete(Marker(step));

    public async Task<FetchRequest?> ReadRequestAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(Directory, "request.json");
        if (!File.Exists(path))
        {
            return null;
        }

        await using var stream = File.OpenRead(path);
        return await JsonSerializer.DeserializeAsync<FetchRequest>(stream, Json, cancellationToken)
            ?? throw new InvalidDataException($"{path}: empty");
    }

    public Task WriteRequestAsync(FetchRequest request, CancellationToken cancellationToken) =>
        WriteAtomicAsync(Path.Combine(Directory, "request.json"), JsonSerializer.Serialize(request, Json), cancellationToken);

    public string BarsPath(string symbol) => Path.Combine(Directory, "bars", Uri.EscapeDataString(symbol) + ".ndjson");

    public bool HasBars(string symbol) => File.Exists(BarsPath(symbol));

    /// <summary>Writes a symbol's bars as NDJSON (replay's bar lines), all or nothing; returns how many.</summary>
    public async Task<long> WriteBarsAsync(string symbol, IAsyncEnumerable<Bar> bars, CancellationToken cancellationToken)
    {
        var path = BarsPath(symbol);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp";
        long count = 0;
        await using (var stream = File.Create(temp))
        {
            await foreach (var bar in bars.WithCancellation(cancellationToken))
            {
                await stream.WriteAsync(RecordJson.Bar(bar), cancellationToken);
                stream.WriteByte((byte)'\n');
                count++;
            }
        }

        File.Move(temp, path, overwrite: true);
        return count;
    }

    /// <summary>A staged file's lines with their numbers, for validation (which reports unreadable ones) and the write.</summary>
    public static async IAsyncEnumerable<(int Line, string Text)> ReadLinesAsync(string path, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var number = 0;
        await foreach (var line in File.ReadLinesAsync(path, cancellationToken))
        {
            number++;
            if (line.Length > 0)
            {
                yield return (number, line);
            }
        }
    }

    public Task WriteReportAsync(object report, CancellationToken cancellationToken) =>
        WriteAtomicAsync(ReportPath, JsonSerializer.Serialize(report, Json), cancellationToken);

    private string Marker(string step) => Path.Combine(Directory, step + ".done");

    private static async Task WriteAtomicAsync(string path, string text, CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp";
        await File.WriteAllTextAsync(temp, text, cancellationToken);
        File.Move(temp, path, overwrite: true);
    }

    [GeneratedRegex("^[A-Za-z0-9_.:+-]{1,200}$")]
    private static partial Regex RunIdPattern();
}
