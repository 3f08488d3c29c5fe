using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Breadboard.TestKit.Kafka;

/// <summary>The mock Kafka cluster in its own process (Breadboard.KafkaMock), for tests whose code under test runs in other processes.</summary>
/// <remarks>
/// The host answers one line per command on stdin and exits when stdin closes, so a test run that dies leaves no
/// broker behind. Test projects reference the Breadboard.KafkaMock project so its dll lands next to theirs, where
/// <see cref="StartAsync(int, CancellationToken)"/> looks for it.
/// </remarks>
public sealed class KafkaMockProcess : IAsyncDisposable
{
    /// <summary>The host's file name, next to the test assembly when the test project references Breadboard.KafkaMock.</summary>
    public const string DllName = "Breadboard.KafkaMock.dll";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan QuitTimeout = TimeSpan.FromSeconds(5);

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly SemaphoreSlim _commands = new(1, 1);
    private bool _disposed;

    private KafkaMockProcess(Process process)
    {
        _process = process;
    }

    /// <summary>The brokers' addresses, "127.0.0.1:PORT,...", for <c>bootstrap.servers</c>.</summary>
    public string BootstrapServers { get; private set; } = "";

    /// <summary>The host's process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>What the host wrote to stderr so far (librdkafka's own log lines go there).</summary>
    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Where <see cref="DllName"/> is expected: the directory of the running test assembly.</summary>
    public static string DefaultDllPath => Path.Combine(AppContext.BaseDirectory, DllName);

    /// <summary>Starts the host found at <see cref="DefaultDllPath"/> with <paramref name="brokers"/> brokers.</summary>
    public static Task<KafkaMockProcess> StartAsync(int brokers = 3, CancellationToken cancellationToken = default) =>
        StartAsync(DefaultDllPath, brokers, cancellationToken);

    /// <summary>Starts <c>dotnet <paramref name="dllPath"/> --brokers N</c> and waits (up to 30 s) for its bootstrap line.</summary>
    public static async Task<KafkaMockProcess> StartAsync(string dllPath, int brokers = 3, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dllPath);
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);
        if (!File.Exists(dllPath))
        {
            throw new FileNotFoundException(
                $"{dllPath} does not exist; a test project gets {DllName} next to its own dll by referencing tests/Breadboard.KafkaMock.", dllPath);
        }

        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(dllPath);
        info.ArgumentList.Add("--brokers");
        info.ArgumentList.Add(brokers.ToString(CultureInfo.InvariantCulture));

        var process = new Process { StartInfo = info };
        var host = new KafkaMockProcess(process);
        process.ErrorDataReceived += (_, e) => host.AppendError(e.Data);
        try
        {
            process.Start();
            process.BeginErrorReadLine();
            process.StandardInput.AutoFlush = true;
            host.BootstrapServers = await host.ReadBootstrapAsync(cancellationToken);
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>Disconnects broker <paramref name="brokerId"/> (1-based) until <see cref="BrokerUpAsync"/>.</summary>
    public Task BrokerDownAsync(int brokerId, CancellationToken cancellationToken = default) =>
        SendAsync(string.Create(CultureInfo.InvariantCulture, $"down {brokerId}"), cancellationToken);

    /// <summary>Makes broker <paramref name="brokerId"/> accept connections again.</summary>
    public Task BrokerUpAsync(int brokerId, CancellationToken cancellationToken = default) =>
        SendAsync(string.Create(CultureInfo.InvariantCulture, $"up {brokerId}"), cancellationToken);

    /// <summary>Creates a topic with replication factor 1; it fails if the topic exists.</summary>
    public Task CreateTopicAsync(string name, int partitions, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException("Topic names travel on a whitespace-separated command line.", nameof(name));
        }

        return SendAsync(string.Create(CultureInfo.InvariantCulture, $"topic {name} {partitions}"), cancellationToken);
    }

    /// <summary>Asks the host to quit, and kills it if it has not exited within a few seconds.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (!_process.HasExited)
            {
                try
                {
                    await _process.StandardInput.WriteLineAsync("quit");
                    _process.StandardInput.Close();
                }
                catch (IOException)
                {
                    // It exited between the check and the write.
                }

                using var wait = new CancellationTokenSource(QuitTimeout);
                try
                {
                    await _process.WaitForExitAsync(wait.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync(CancellationToken.None);
                }
            }
        }
        catch (InvalidOperationException)
        {
            // Never started: nothing to stop.
        }
        finally
        {
            _process.Dispose();
            _commands.Dispose();
        }
    }

    private async Task<string> ReadBootstrapAsync(CancellationToken cancellationToken)
    {
        const string Prefix = "bootstrap=";
        var stdout = new StringBuilder();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        try
        {
            while (true)
            {
                // WaitAsync bounds the wait even where a pipe read ignores its token.
                var line = await _process.StandardOutput.ReadLineAsync(timeout.Token).AsTask().WaitAsync(timeout.Token);
                if (line is null)
                {
                    await _process.WaitForExitAsync(timeout.Token);
                    throw new InvalidOperationException(
                        $"Breadboard.KafkaMock exited with code {_process.ExitCode} before printing its bootstrap line. stdout:\n{stdout}stderr:\n{StandardError}");
                }

                if (line.StartsWith(Prefix, StringComparison.Ordinal))
                {
                    return line[Prefix.Length..];
                }

                // The dotnet host itself may complain on stdout; keep it for the error.
                stdout.AppendLine(line);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"Breadboard.KafkaMock printed no bootstrap line within {StartTimeout.TotalSeconds:0} s. stdout:\n{stdout}stderr:\n{StandardError}");
        }
    }

    private async Task SendAsync(string command, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _commands.WaitAsync(cancellationToken);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(CommandTimeout);
            string? reply;
            try
            {
                await _process.StandardInput.WriteLineAsync(command.AsMemory(), timeout.Token);
                reply = await _process.StandardOutput.ReadLineAsync(timeout.Token).AsTask().WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"Breadboard.KafkaMock did not answer '{command}' within {CommandTimeout.TotalSeconds:0} s.");
            }
            catch (IOException e)
            {
                throw new InvalidOperationException($"Breadboard.KafkaMock is gone ('{command}'). stderr:\n{StandardError}", e);
            }

            if (reply is null)
            {
                throw new InvalidOperationException($"Breadboard.KafkaMock exited instead of answering '{command}'. stderr:\n{StandardError}");
            }

            if (reply != "ok")
            {
                throw new InvalidOperationException($"Breadboard.KafkaMock refused '{command}': {reply}");
            }
        }
        finally
        {
            _commands.Release();
        }
    }

    private void AppendError(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_stderr)
        {
            _stderr.AppendLine(line);
        }
    }
}
