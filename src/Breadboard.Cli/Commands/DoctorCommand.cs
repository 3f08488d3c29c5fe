using System.CommandLine;
using System.Runtime.CompilerServices;
using Breadboard.Cli.Settings;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;

namespace Breadboard.Cli.Commands;

/// <summary>
/// <c>breadboard doctor</c>: checks every backend the settings name (the five seams and the notifier channels in the
/// environment) without changing any, one line per check; exit 1 if any check fails.
/// </summary>
/// <remarks>
/// <para>Read-only: no database, table, topic, stream or consumer is created or migrated, no request body is sent
/// to a notifier endpoint and no mail is sent (<see cref="DoctorChecks"/> says what each check does).</para>
/// <para>Backends are checked at once; each network step has <c>--timeout</c>, and a backend that has not finished
/// after three of them is a failure line, never a hang. Lines are redacted like every other message
/// (<see cref="SecretText.RedactText"/>), and secrets from the environment are never put in them.</para>
/// </remarks>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var timeout = new Option<string>("--timeout") { Description = "How long each network step (connect, an answer) may take.", DefaultValueFactory = _ => "5s" };
        var command = new Command("doctor", "Check the configured store, bus, alert bus, engine, scheduler and notifier channels without changing anything: one line per check, exit 1 if any fails.") { timeout };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var text = parse.GetValue(timeout)!;
            if (!DurationText.TryParse(text, out var ms) || ms < 100)
            {
                throw new SettingException($"--timeout '{text}': expected a duration of at least 100ms, like 500ms or 5s");
            }

            var failed = 0;
            await foreach (var line in RunAsync(parse, TimeSpan.FromMilliseconds(ms), cancellationToken))
            {
                Console.WriteLine(line);
                failed += line.Ok ? 0 : 1;
            }

            return failed == 0 ? 0 : 1;
        }));
        return command;
    }

    /// <summary>Every check, in a fixed order (store, bus, alerts, engine, scheduler, channels), all run at once.</summary>
    public static async IAsyncEnumerable<DoctorLine> RunAsync(ParseResult parse, TimeSpan timeout, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var checks = new DoctorChecks(parse, timeout);
        Task<IReadOnlyList<DoctorLine>>[] groups =
        [
            GuardAsync("store", Seams.Store, checks.StoreAsync, timeout, cancellationToken),
            GuardAsync("bus", Seams.Bus, checks.BusAsync, timeout, cancellationToken),
            GuardAsync("alerts", Seams.Alerts, checks.AlertsAsync, timeout, cancellationToken),
            GuardAsync("engine", Seams.Engine, checks.EngineAsync, timeout, cancellationToken),
            GuardAsync("scheduler", Seams.Scheduler, checks.SchedulerAsync, timeout, cancellationToken),
            GuardAsync("channels", null, checks.ChannelsAsync, timeout, cancellationToken),
        ];
        foreach (var group in groups)
        {
            foreach (var line in await group)
            {
                yield return line;
            }
        }
    }

    /// <summary>
    /// Runs one backend's checks on the thread pool; a setting that does not parse, a backend that takes longer than
    /// three steps' time, or anything unforeseen becomes that backend's failure line.
    /// </summary>
    private static async Task<IReadOnlyList<DoctorLine>> GuardAsync(string check, Seam? seam, Func<CancellationToken, Task<IReadOnlyList<DoctorLine>>> run, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var budget = timeout * 3;
        try
        {
            // The watchdog is for a library call that ignores its token (a blocking native call): the check's own
            // steps stop at their timeout well before it.
            return await Task.Run(() => run(cancellationToken), cancellationToken).WaitAsync(budget, cancellationToken);
        }
        catch (SettingException e)
        {
            return [DoctorLine.Fail(check, e.Message, seam is null ? "correct the setting it names" : $"correct {seam.Flag} or {seam.EnvironmentVariable}")];
        }
        catch (TimeoutException)
        {
            return [DoctorLine.Fail(check, $"no result within {budget.TotalSeconds:0.#} s", "see whether the server is overloaded or a firewall drops packets; --timeout sets each step's limit")];
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return [DoctorLine.Fail(check, $"unexpected {e.GetType().Name}: {CommandRunner.OneLine(e.Message)}", "run the command that uses this backend for its own error")];
        }
    }
}

/// <summary>One check's outcome: <c>ok   check: what was found</c> or <c>FAIL check: what is wrong — fix: what to do</c>.</summary>
internal sealed record DoctorLine(string Check, string Found, string? Fix)
{
    public bool Ok => Fix is null;

    public static DoctorLine Pass(string check, string found) => new(check, found, null);

    public static DoctorLine Fail(string check, string wrong, string fix) => new(check, wrong, fix);

    /// <summary>The line as printed: one line, redacted (a library's text may quote a URL with its credentials).</summary>
    public override string ToString() =>
        SecretText.RedactText(OneLine(Ok ? $"ok   {Check}: {Found}" : $"FAIL {Check}: {Found} — fix: {Fix}"));

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
