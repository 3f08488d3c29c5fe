using System.CommandLine;
using Breadboard.Cli.Settings;
using Breadboard.ClickHouse;
using Breadboard.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace Breadboard.Cli.Commands;

/// <summary>Shared plumbing of the commands: the --pipeline option and turning user errors into one line and exit code 2.</summary>
internal static class CommandRunner
{
    public const int UserError = 2;

    public const string PipelineVariable = "BREADBOARD_PIPELINE";

    public static Option<string?> PipelineOption() => new("--pipeline")
    {
        Description = $"Pipeline definition (YAML or JSON). Default: env {PipelineVariable}, else the built-in default (the same as config/pipeline.yaml).",
    };

    /// <summary>The pipeline file the user named (the option, else the environment); null for the built-in default.</summary>
    public static string? PipelinePath(string? option) =>
        !string.IsNullOrEmpty(option) ? option : Environment.GetEnvironmentVariable(PipelineVariable) is { Length: > 0 } path ? path : null;

    /// <summary>Loads the pipeline the user named, or the built-in default.</summary>
    public static PipelineDefinition LoadPipeline(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            path = Environment.GetEnvironmentVariable(PipelineVariable);
        }

        if (string.IsNullOrEmpty(path))
        {
            return PipelineDefinition.Default;
        }

        if (!File.Exists(path))
        {
            throw new SettingException($"--pipeline '{path}': file not found");
        }

        return PipelineLoader.Parse(File.ReadAllText(path), path);
    }

    /// <summary>A time option: ISO-8601, a date, or epoch milliseconds; null when not given.</summary>
    public static long? ParseTime(string? text, string flag)
    {
        if (text is null)
        {
            return null;
        }

        return Core.Model.EventTime.TryParse(text, out var ms) ? ms : throw new SettingException($"{flag} '{text}': not an ISO-8601 time (2026-01-02T14:30:00Z), a date or epoch milliseconds");
    }

    /// <summary>An argument error's message without the "(Parameter 'x')" .NET appends, for one-line errors.</summary>
    public static string OneLine(ArgumentException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
    }

    /// <summary>Runs a command body, printing user errors as one line on stderr with exit code 2, never a stack trace.</summary>
    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (SettingException e)
        {
            return Fail(e.Message);
        }
        catch (PipelineConfigException e)
        {
            foreach (var line in e.Errors)
            {
                await Console.Error.WriteLineAsync($"error: {line}");
            }

            return UserError;
        }
        catch (InvalidDataException e)
        {
            return Fail(e.Message);
        }
        catch (Exception e) when (e is ClickHouseUnavailableException or ClickHouseException)
        {
            // The store failed while running (down beyond retry_for, or refused a write): the input position has
            // not moved past what was stored, so a restart resumes.
            await Console.Error.WriteLineAsync($"error: store: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A file could not be read or written (a full disk, a missing directory, no permission): .NET's message
            // names the file. Checkpoints are written after what they count, so the last one still holds.
            await Console.Error.WriteLineAsync($"error: {OneLine(e.Message)}");
            return 1;
        }
        catch (System.Data.Common.DbException e)
        {
            // The embedded store (DuckDB) failed: its file, the disk under it, or a lock another process holds.
            await Console.Error.WriteLineAsync($"error: store: {OneLine(e.Message)}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("stopped");
            return 130;
        }
    }

    /// <summary>The first line of a message, for errors that must stay on one line.</summary>
    public static string OneLine(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var end = message.IndexOfAny(['\r', '\n']);
        return (end < 0 ? message : message[..end]).Trim();
    }

    /// <summary>One-line log records on stderr (stdout carries the commands' own output).</summary>
    private static readonly Lazy<ILoggerFactory> Logging = new(() => LoggerFactory.Create(builder => builder
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        })
        .AddFilter("NATS", LogLevel.Warning)
        .SetMinimumLevel(LogLevel.Information)));

    /// <summary>
    /// A worker's loop from start to end: ready while <paramref name="run"/> runs, a progress line every second,
    /// stopping once it ends; then its outcome (an exception included).
    /// </summary>
    public static async Task WatchWorkerAsync(Task run, Func<string> progress, Settings.WorkerHealth? health)
    {
        health?.Ready();
        while (!run.IsCompleted)
        {
            await Task.WhenAny(run, Task.Delay(1000, CancellationToken.None));
            Console.WriteLine(progress());
        }

        health?.Stopping();
        await run;
    }

    public static ILogger Logger(string category) => Logging.Value.CreateLogger(category);

    /// <summary>
    /// The web server's logging, like the commands' own (one line on stderr): its warnings and failures (refused
    /// hosts and origins, failed requests with their request id), and only the framework's warnings.
    /// </summary>
    public static void WebLogging(ILoggingBuilder builder) => builder
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        })
        .AddFilter("Microsoft", LogLevel.Warning)
        .SetMinimumLevel(LogLevel.Information);

    public static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return UserError;
    }
}
