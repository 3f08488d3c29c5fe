using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Breadboard.TestKit.Nats;

/// <summary>
/// A real <c>nats-server</c> with JetStream and a file store, on a free loopback port, in its own temporary
/// directory; it can be killed (SIGKILL) and started again on the same port and store to test survival.
/// </summary>
/// <remarks>Debian's <c>nats-server</c> package (2.9) provides the binary; scripts/test.sh installs it. A missing
/// binary is an error, never a skipped test.</remarks>
public sealed class NatsServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private readonly string _binary;
    private readonly StringBuilder _output = new();
    private Process? _process;

    private NatsServerProcess(string binary, int port, string storeDirectory)
    {
        _binary = binary;
        Port = port;
        StoreDirectory = storeDirectory;
    }

    public int Port { get; }

    /// <summary>The JetStream store directory, kept across <see cref="KillAsync"/> and <see cref="RestartAsync"/>.</summary>
    public string StoreDirectory { get; }

    /// <summary><c>nats://127.0.0.1:PORT</c>.</summary>
    public string Url => string.Create(CultureInfo.InvariantCulture, $"nats://127.0.0.1:{Port}");

    /// <summary>What the server logged so far (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts a server and waits until it accepts connections.</summary>
    public static async Task<NatsServerProcess> StartAsync(CancellationToken cancellationToken = default)
    {
        var binary = new[] { "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server" }.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException("nats-server is not installed (apt-get install -y nats-server); scripts/test.sh installs it.");
        var server = new NatsServerProcess(binary, FreePort(), Directory.CreateTempSubdirectory("breadboard-nats-").FullName);
        await server.StartProcessAsync(cancellationToken);
        return server;
    }

    /// <summary>Kills the server with SIGKILL: no shutdown, whatever the file store has is what survives.</summary>
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

    /// <summary>Starts the server again on the same port and store.</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default) => StartProcessAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            Directory.Delete(StoreDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open: temp space is reclaimed eventually.
        }
    }

    private async Task StartProcessAsync(CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(_binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-a", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-js", "-sd", StoreDirectory })
        {
            info.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var clock = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException($"nats-server exited with {process.ExitCode}: {Output}");
            }

            // JetStream is ready once the server logs it; the port alone may answer a moment earlier.
            if (Output.Contains("Server is ready", StringComparison.Ordinal))
            {
                return;
            }

            if (clock.Elapsed > StartTimeout)
            {
                throw new TimeoutException($"nats-server did not become ready within {StartTimeout.TotalSeconds} s: {Output}");
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
