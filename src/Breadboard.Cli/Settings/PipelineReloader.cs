using System.Globalization;
using System.Runtime.InteropServices;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Runtime;
using Breadboard.Web.Api;

namespace Breadboard.Cli.Settings;

/// <summary>
/// The pipeline file of a running <c>up</c> or <c>process</c>, reloaded on SIGHUP and on
/// <c>POST /api/pipeline/reload</c>: the file is the source of truth. Rules and indicators change from the next bar
/// that closes; a file that does not load, or that changes windows or event-time settings, is refused with every
/// reason and the running definition stays.
/// </summary>
/// <remarks>
/// Every definition that starts running is recorded in the store (<see cref="IMarketStore.WritePipelineAsync"/>),
/// which is what <c>backtest --compare</c> compares with. One reload at a time.
/// </remarks>
internal sealed class PipelineReloader : IDisposable
{
    private readonly string? _path;
    private readonly IMarketStore _store;
    private readonly string _loader;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Func<PipelineDefinition, Task<PipelineSwitch>>? _apply;
    private Action<PipelineDefinition>? _applied;
    private PosixSignalRegistration? _hangup;
    private volatile PipelineDefinition _running;
    private long _loadedAt;
    private PipelineReload? _lastApplied;

    // The file's content when last read by a reload (applied or refused): watching reloads only on a change.
    private string? _lastContent;

    /// <param name="path">The pipeline file; null when the process runs the built-in default, which cannot be reloaded.</param>
    /// <param name="loader">Who runs it, as recorded in the store: <c>up</c>, <c>process host:pid</c>.</param>
    public PipelineReloader(string? path, PipelineDefinition running, IMarketStore store, string loader)
    {
        _path = path;
        _running = running;
        _store = store;
        _loader = loader;
        _loadedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    }

    public PipelineDefinition Running => _running;

    public long LoadedAt => Interlocked.Read(ref _loadedAt);

    /// <summary>Why the last reload was refused; null after a reload that applied (or before any).</summary>
    public string? LastRefusal { get; private set; }

    /// <summary>Reloads so far that were refused.</summary>
    public long Refusals { get; private set; }

    /// <summary>Records the running definition in the store: on start.</summary>
    public ValueTask RecordAsync(CancellationToken cancellationToken) =>
        _store.WritePipelineAsync(new StoredPipeline(_running.Digest(), PipelineLoader.ToYaml(_running), LoadedAt, _loader), cancellationToken);

    /// <summary>Where a reload goes once checked (the engine host), and who hears of one applied (the dashboard).</summary>
    public void Attach(Func<PipelineDefinition, Task<PipelineSwitch>> apply, Action<PipelineDefinition>? applied = null)
    {
        _apply = apply;
        _applied = applied;
    }

    /// <summary>Reloads on SIGHUP, reporting on the console.</summary>
    /// <remarks>A process started with SIGHUP ignored (under <c>nohup</c>) never sees it: .NET leaves an inherited
    /// "ignore" in place. That is said once at the start, with the other ways to reload.</remarks>
    public void ListenForHangup()
    {
        if (_path is not null && HangupIgnored())
        {
            Console.Error.WriteLine("breadboard: SIGHUP is ignored in this process (started under nohup?), so it will not reload the pipeline; use POST /api/pipeline/reload (process also reloads a changed file: --reload-every)");
        }

        _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true; // SIGHUP's default would end the process
            Console.WriteLine($"SIGHUP: reloading {_path ?? "the pipeline"}");
            _ = Task.Run(async () =>
            {
                try
                {
                    Console.WriteLine(Describe(await ReloadAsync(CancellationToken.None)));
                }
                catch (Exception e)
                {
                    // Nobody awaits this task: a reload that throws must still say so on the console.
                    Console.Error.WriteLine($"breadboard: reload on SIGHUP failed: {e.GetType().Name}: {e.Message}");
                }
            });
        });
    }

    /// <summary>Whether this process ignores SIGHUP (bit 1 of SigIgn in /proc/self/status, Linux); false where that cannot be read.</summary>
    private static bool HangupIgnored()
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
            return line is not null && (ulong.Parse(line["SigIgn:".Length..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture) & 1UL) != 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return false;
        }
    }

    /// <summary>
    /// Reloads whenever the file's content changes, looking every <paramref name="every"/>, until cancelled: a
    /// group's processors then all end on the file's definition (a Kubernetes ConfigMap edit reaches them as a
    /// changed file, not a signal). A refused content is not tried again until the file changes.
    /// </summary>
    public async Task WatchAsync(TimeSpan every, CancellationToken cancellationToken)
    {
        if (_path is null)
        {
            return;
        }

        _lastContent ??= Read();
        try
        {
            while (true)
            {
                await Task.Delay(every, cancellationToken);
                if (Read() is { } content && content != _lastContent)
                {
                    Console.WriteLine(Describe(await ReloadAsync(cancellationToken)));
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped with the worker.
        }

        string? Read()
        {
            try
            {
                return File.ReadAllText(_path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null; // being replaced; the next look sees it
            }
        }
    }

    /// <summary>Reads the file again and, when it loads and only rules and indicators changed, runs it.</summary>
    public async Task<PipelineReload> ReloadAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var errors = await TryReloadAsync(cancellationToken);
            if (errors.Count > 0)
            {
                LastRefusal = string.Join("; ", errors);
                Refusals++;
                return new PipelineReload(false, _running.Digest(), EventTime.ToIso(LoadedAt), [], errors);
            }

            LastRefusal = null;
            return _lastApplied!;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<List<string>> TryReloadAsync(CancellationToken cancellationToken)
    {
        if (_path is null)
        {
            return [$"the pipeline is the built-in default; start with --pipeline FILE (or {Commands.CommandRunner.PipelineVariable}) to reload one"];
        }

        if (_apply is null)
        {
            return ["the pipeline is not running yet"];
        }

        PipelineDefinition next;
        try
        {
            _lastContent = await File.ReadAllTextAsync(_path, cancellationToken);
            next = PipelineLoader.Parse(_lastContent, _path);
        }
        catch (PipelineConfigException e)
        {
            return [.. e.Errors];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [$"{_path}: {Commands.CommandRunner.OneLine(e.Message)}"];
        }

        if (PipelineChange.Refusal(_running, next) is { } refusal)
        {
            return [$"{_path}: {refusal}"];
        }

        PipelineSwitch change;
        try
        {
            change = await _apply(next);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return [$"{_path}: {Commands.CommandRunner.OneLine(e.Message)}"];
        }

        _running = next;
        Interlocked.Exchange(ref _loadedAt, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        _applied?.Invoke(next);
        await RecordAsync(cancellationToken);
        var changes = change.Change.Changes;
        _lastApplied = new PipelineReload(true, next.Digest(), EventTime.ToIso(LoadedAt), changes.Count == 0 ? ["nothing changed"] : changes, [])
        {
            Watermark = change.Watermark == long.MinValue ? null : EventTime.ToIso(change.Watermark),
        };
        return [];
    }

    /// <summary>One line for the console.</summary>
    public string Describe(PipelineReload result) => result.Applied
        ? string.Create(CultureInfo.InvariantCulture, $"reloaded {_path}: pipeline {result.Digest} from the next bar that closes, after watermark {result.Watermark ?? "-"} ({string.Join(", ", result.Changes)})")
        : $"error: reload refused, pipeline {result.Digest} keeps running: {string.Join("; ", result.Errors)}";

    public void Dispose()
    {
        _hangup?.Dispose();
        _gate.Dispose();
    }
}
