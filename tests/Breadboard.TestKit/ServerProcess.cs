using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Breadboard.TestKit;

/// <summary>
/// A real server binary run by a test in its own temporary directory: started and awaited until ready, killed
/// with SIGKILL, started again on the same ports and data, and cleaned up.
/// </summary>
/// <remarks>A missing binary is an error naming the package to install, never a skipped test.</remarks>
public abstract class ServerProcess : IAsyncDisposable
{
    private readonly StringBuilder _printed = new();
    private Process? _process;

    protected ServerProcess(string binary, string workDirectory)
    {
        Binary = binary;
        WorkDirectory = workDirectory;
    }

    /// <summary>The temporary directory of the server's data (and config), kept across <see cref="KillAsync"/> and <see cref="RestartAsync"/>.</summary>
    public string WorkDirectory { get; }

    /// <summary>What the server printed so far (for failure messages).</summary>
    public virtual string Output
    {
        get
        {
            lock (_printed)
            {
                return _printed.ToString();
            }
        }
    }

    protected string Binary { get; }

    /// <summary>How long a start may take before it is a failure.</summary>
    protected virtual TimeSpan StartTimeout => TimeSpan.FromSeconds(30);

    /// <summary>The server's command-line arguments.</summary>
    protected abstract IEnumerable<string> Arguments { get; }

    /// <summary>The running server's process id; null before a start, after <see cref="KillAsync"/>, and once it has exited.</summary>
    public int? ProcessId => _process is { HasExited: false } process ? process.Id : null;

    /// <summary>Whether the server was started and has exited on its own (crashed): <see cref="KillAsync"/> and
    /// <see cref="StopAsync"/> forget the process, so a server stopped by the test is not "exited".</summary>
    public bool HasExited => _process?.HasExited == true;

    /// <summary>The exit status of a server that <see cref="HasExited"/> (a signal shows as 128 + its number).</summary>
    public int? ExitCode => _process is { HasExited: true } process ? process.ExitCode : null;

    /// <summary>SIGTERM, so the server shuts down as it would in production (closing its sessions); SIGKILL if it is
    /// still running after <paramref name="timeout"/>. A paused server is resumed first, or it could not shut down.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_process is { HasExited: false } process)
        {
            Signal("CONT");
            Signal("TERM");
            using var wait = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                // Still shutting down: KillAsync ends it.
            }
        }

        await KillAsync();
    }

    /// <summary>Kills the server with SIGKILL: no shutdown, whatever reached the disk is what survives.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>SIGSTOP: the server keeps its sockets but answers nothing, as a frozen or overloaded server does, until <see cref="Resume"/>.</summary>
    public void Pause() => Signal("STOP");

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    public void Resume() => Signal("CONT");

    /// <summary>Starts the server again on the same ports and data.</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default) => StartProcessAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            Directory.Delete(WorkDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open: temp space is reclaimed eventually.
        }

        ReleaseResources();
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees what a server kind holds beyond its process (an HTTP client for readiness checks, say).</summary>
    protected virtual void ReleaseResources()
    {
    }

    /// <summary>A free TCP port on the loopback interface.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The first of <paramref name="candidates"/> that exists, else a FileNotFoundException saying what to install.</summary>
    protected static string FindBinary(string[] candidates, string package) =>
        candidates.FirstOrDefault(File.Exists)
        ?? throw new FileNotFoundException($"{Path.GetFileName(candidates[0])} is not installed: apt-get install -y {package} (scripts/test.sh installs it)");

    /// <summary>Whether the started server answers yet; polled until it does or the start times out.</summary>
    protected abstract Task<bool> IsReadyAsync(CancellationToken cancellationToken);

    /// <summary>Called just before each start of the binary (the first and every restart).</summary>
    protected virtual void OnStarting()
    {
    }

    /// <summary>
    /// A new server's first start: <paramref name="prepare"/> (its config files), then the binary until it is ready;
    /// on any failure the server is disposed (its process killed, its directory deleted) before the error goes on.
    /// </summary>
    protected static async Task<T> LaunchAsync<T>(T server, Action<T>? prepare, CancellationToken cancellationToken)
        where T : ServerProcess
    {
        ArgumentNullException.ThrowIfNull(server);
        try
        {
            prepare?.Invoke(server);
            await server.StartProcessAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the binary and waits until <see cref="IsReadyAsync"/> says so.</summary>
    protected async Task StartProcessAsync(CancellationToken cancellationToken)
    {
        OnStarting();
        var info = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = WorkDirectory,
        };
        foreach (var argument in Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var name = Path.GetFileName(Binary);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited with {process.ExitCode}: {Output}");
            }

            if (await IsReadyAsync(cancellationToken))
            {
                return;
            }

            if (clock.Elapsed > StartTimeout)
            {
                throw new TimeoutException($"{name} was not ready within {StartTimeout.TotalSeconds} s: {Output}");
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    private void Signal(string signal)
    {
        if (_process is { HasExited: false } process)
        {
            using var kill = Process.Start("kill", $"-{signal} {process.Id}");
            kill.WaitForExit();
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_printed)
            {
                _printed.AppendLine(line);
            }
        }
    }
}
