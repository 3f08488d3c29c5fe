using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Breadboard.Cli.Tests;

/// <summary>A breadboard command running in the background (a <c>process</c> member, <c>api</c>), its output kept;
/// disposing kills it with SIGKILL unless it has exited.</summary>
internal sealed class CliBackground : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private bool _disposed;

    private CliBackground(Process process) => _process = process;

    public bool IsRunning => !_process.HasExited;

    /// <summary>Standard output and error so far, interleaved as they came.</summary>
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

    public static CliBackground Start(string directory, string[] args)
    {
        var background = new CliBackground(Process.Start(CliProcess.StartInfo(directory, null, args))!);
        background._process.OutputDataReceived += (_, e) => background.OnLine(e.Data);
        background._process.ErrorDataReceived += (_, e) => background.OnLine(e.Data);
        background._process.BeginOutputReadLine();
        background._process.BeginErrorReadLine();
        return background;
    }

    /// <summary>Waits for a line of output that <paramref name="matches"/>; fails if the command exits first or
    /// <paramref name="within"/> passes.</summary>
    public async Task WaitForLineAsync(Func<string, bool> matches, TimeSpan within)
    {
        var clock = Stopwatch.StartNew();
        while (!Output.Split('\n').Any(line => matches(line.TrimEnd('\r'))))
        {
            Assert.True(IsRunning, "the command exited before the line came: " + Output);
            Assert.True(clock.Elapsed < within, $"the line did not come within {within.TotalSeconds:0} s: " + Output);
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Waits until a server command (<c>api</c>) answers <c>/health/live</c> through <paramref name="http"/>.</summary>
    public async Task WaitUntilAnsweringAsync(HttpClient http)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            Assert.True(IsRunning && clock.Elapsed < TimeSpan.FromSeconds(60), "the server did not answer: " + Output);
            try
            {
                using var response = await http.GetAsync(new Uri("/health/live", UriKind.Relative), TestContext.Current.CancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Sends a signal by name (<c>STOP</c>, <c>CONT</c>) with kill(1).</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start("kill", ["-" + name, _process.Id.ToString(CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Kills the command (SIGKILL) unless it has exited; safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true); // mid-batch, mid-insert or mid-rebalance
            await _process.WaitForExitAsync(CancellationToken.None);
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
