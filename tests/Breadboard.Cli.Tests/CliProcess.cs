using System.Diagnostics;

namespace Breadboard.Cli.Tests;

/// <summary>Runs the breadboard CLI as a separate process, the way a user does.</summary>
internal static class CliProcess
{
    private static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "breadboard.dll");

    public static ProcessStartInfo StartInfo(string workingDirectory, IDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Dll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        // The tests set what they need explicitly; a developer's settings (seams, ports, channels, keys) must not leak in.
        foreach (var setting in Breadboard.Cli.Settings.EnvironmentSettings.All)
        {
            info.Environment.Remove(setting.Name);
        }

        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                info.Environment[k] = v;
            }
        }

        return info;
    }

    /// <summary>Runs the CLI and fails the test, with its output, unless it exits 0.</summary>
    public static async Task RunSucceedsAsync(TempDir dir, params string[] args)
    {
        var result = await RunAsync(dir.Path, args, timeoutSeconds: 180);
        Assert.True(result.ExitCode == 0, $"breadboard {string.Join(' ', args)} exited {result.ExitCode}: {result.Stderr}\n{result.Stdout}");
    }

    /// <summary>A file's lines in ordinal order, to compare record files whose order does not matter.</summary>
    public static string[] SortedLines(string path) => [.. File.ReadAllLines(path).Order(StringComparer.Ordinal)];

    public static async Task<Result> RunAsync(string workingDirectory, string[] args, IDictionary<string, string>? environment = null, int timeoutSeconds = 120)
    {
        using var process = Process.Start(StartInfo(workingDirectory, environment, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"breadboard {string.Join(' ', args)} did not finish in {timeoutSeconds} s");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }

    internal sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string[] ErrorLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}

/// <summary>A temporary directory removed after the test.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Path = Directory.CreateTempSubdirectory("breadboard-test-").FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A killed child may still hold a file for a moment; the OS cleans temp.
        }
    }
}
