using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Breadboard.Chaos;

/// <summary>
/// One Breadboard process of the face (<c>breadboard.dll</c> run by <c>dotnet</c>, as the tests run the CLI), with
/// its output appended to a log file, that the run kills, pauses and starts again.
/// </summary>
internal sealed partial class Member : IAsyncDisposable
{
    private const int SigTerm = 15;
    private const int SigCont = 18;
    private const int SigStop = 19;

    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "breadboard.dll");

    private readonly string[] _args;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly StreamWriter _log;
    private readonly Lock _gate = new();
    private Process? _process;
    private bool _expectExit;

    public Member(string name, string workDirectory, string[] args, IReadOnlyDictionary<string, string> environment)
    {
        Name = name;
        WorkDirectory = workDirectory;
        _args = args;
        _environment = environment;
        _log = new StreamWriter(Path.Combine(workDirectory, "logs", name + ".log"), append: true) { AutoFlush = true };
    }

    public string Name { get; }

    public string WorkDirectory { get; }

    /// <summary>Exits nobody asked for (a crash, or an error exit), with their codes.</summary>
    public List<string> UnexpectedExits { get; } = [];

    /// <summary>Set once the process ended by itself with exit code 0 (ingest at the end of its file).</summary>
    public bool Finished { get; private set; }

    public int Starts { get; private set; }

    public int? ProcessId
    {
        get
        {
            lock (_gate)
            {
                return _process is { HasExited: false } p ? p.Id : null;
            }
        }
    }

    public void Start()
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = WorkDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Dll);
        foreach (var arg in _args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in _environment)
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.Exited += (_, _) => OnExited(process);
        lock (_gate)
        {
            _expectExit = false;
            process.Start();
            _process = process;
            Starts++;
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Write($"# chaos: started pid {process.Id}: breadboard {string.Join(' ', _args)}");
    }

    /// <summary>SIGKILL: no shutdown at all.</summary>
    public async Task KillAsync()
    {
        Process? process;
        lock (_gate)
        {
            process = _process;
            _expectExit = true;
        }

        if (process is { HasExited: false })
        {
            Resume(); // a stopped process dies on SIGKILL too, but let it not stay stopped in our books
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Write($"# chaos: SIGKILL pid {process.Id}");
        }
    }

    /// <summary>SIGTERM, and waits for the process to write what it has and exit.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        Process? process;
        lock (_gate)
        {
            process = _process;
            _expectExit = true;
        }

        if (process is { HasExited: false })
        {
            Resume();
            _ = Kill(process.Id, SigTerm);
            using var wait = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                UnexpectedExits.Add($"did not stop within {timeout.TotalSeconds:F0} s of SIGTERM: killed");
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
    }

    /// <summary>SIGSTOP: the process is frozen, its sockets open, as a long GC pause or a stalled VM looks.</summary>
    public void Pause()
    {
        if (ProcessId is { } pid)
        {
            _ = Kill(pid, SigStop);
            Write($"# chaos: SIGSTOP pid {pid}");
        }
    }

    public void Resume()
    {
        if (ProcessId is { } pid)
        {
            _ = Kill(pid, SigCont);
        }
    }

    /// <summary>Resident memory in MB, or null when not running.</summary>
    public double? ResidentMegabytes()
    {
        if (ProcessId is not { } pid)
        {
            return null;
        }

        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kb = long.Parse(line["VmRSS:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture);
                    return kb / 1024.0;
                }
            }
        }
        catch (IOException)
        {
            // Exited in between.
        }

        return null;
    }

    /// <summary>Waits for the process to end by itself.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        Process? process;
        lock (_gate)
        {
            process = _process;
        }

        if (process is null)
        {
            return true;
        }

        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(wait.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        await _log.DisposeAsync();
    }

    private void OnExited(Process process)
    {
        bool expected;
        lock (_gate)
        {
            expected = _expectExit || !ReferenceEquals(process, _process);
        }

        var code = process.ExitCode;
        Write($"# chaos: pid {process.Id} exited with {code}{(expected ? " (as asked)" : "")}");
        if (!expected)
        {
            if (code == 0)
            {
                Finished = true;
            }
            else
            {
                UnexpectedExits.Add(string.Create(CultureInfo.InvariantCulture, $"exited by itself with code {code} at {DateTimeOffset.UtcNow:HH:mm:ss}"));
            }
        }
    }

    private void Write(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.WriteLine(line);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
