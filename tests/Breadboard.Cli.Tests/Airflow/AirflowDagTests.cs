using System.ComponentModel;
using System.Diagnostics;
using Breadboard.TestKit;

namespace Breadboard.Cli.Tests.Airflow;

/// <summary>
/// The historical_fetch DAG, checked without Airflow (not installable here): tests/airflow/check_dag.py reads it with
/// Python's ast, tests/airflow/render_dag.py imports it against stand-ins of Airflow's classes, renders its templates
/// with Jinja and runs its bash commands against a recording breadboard; these tests run both, show they fail on
/// broken copies and on the DAG as it was before issue 18, and compare the CLI commands the DAG uses.
/// </summary>
public sealed class AirflowDagTests
{
    private static readonly string Root = Repository.Root();
    private static readonly string Dag = Path.Combine(Root, "deploy", "airflow", "dags", "historical_fetch.py");
    private static readonly string Check = Path.Combine(Root, "tests", "airflow", "check_dag.py");
    private static readonly string Render = Path.Combine(Root, "tests", "airflow", "render_dag.py");
    private static readonly string DagBeforeIssue18 = Path.Combine(Root, "tests", "airflow", "fixtures", "historical_fetch_before_issue18.py");

    [Fact]
    public async Task CheckDag_OnTheDag_PassesEveryCheck()
    {
        var result = await PythonAsync([Check, Dag], TestContext.Current.CancellationToken);

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.Equal("ok", result.Stdout.Trim());
    }

    [Theory]
    [InlineData("RETRIES = 3", "RETRIES = 2", "default_args.retries: expected 3, found 2")]
    [InlineData("fetch_symbols >> validate_data >> write_clickhouse", "write_clickhouse >> validate_data >> fetch_symbols", "dependencies: fetch_symbols >> validate_data missing")]
    [InlineData("catchup=False", "catchup=True", "catchup: expected False, found True")]
    [InlineData("\"batch\", \"validate\", \"--run-id\", RUN_ID", "\"batch\", \"validate\"", "task validate_data: no `--run-id {{ run_id }}`")]
    [InlineData("trigger_rule=\"one_failed\"", "trigger_rule=\"all_success\"", "task batch_failed: trigger_rule: expected 'one_failed', found 'all_success'")]
    [InlineData("    [fetch_symbols, validate_data, write_clickhouse] >> batch_failed\n", "    [fetch_symbols, validate_data] >> batch_failed\n", "dependencies: write_clickhouse >> batch_failed missing")]
    [InlineData("schedule=CronDataIntervalTimetable(SCHEDULE, timezone=\"UTC\")", "schedule=SCHEDULE", "schedule: expected CronDataIntervalTimetable('0 */6 * * *', timezone='UTC'), found '0 */6 * * *': on Airflow 3")]
    [InlineData("SCHEDULE = \"0 */6 * * *\"", "SCHEDULE = \"@daily\"", "schedule: expected '0 */6 * * *', found '@daily'")]
    [InlineData("catchup=False,", "catchup=False", "compile: SyntaxError")]
    public async Task CheckDag_OnAMutatedCopy_FailsNamingTheProblem(string original, string mutation, string expected)
    {
        var source = await File.ReadAllTextAsync(Dag, TestContext.Current.CancellationToken);
        Assert.Contains(original, source, StringComparison.Ordinal);
        using var dir = new TempDir();
        var copy = dir.File("historical_fetch.py");
        await File.WriteAllTextAsync(copy, source.Replace(original, mutation, StringComparison.Ordinal), TestContext.Current.CancellationToken);

        var result = await PythonAsync([Check, copy], TestContext.Current.CancellationToken);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(result.Stdout.Split('\n'), line => line.StartsWith(expected, StringComparison.Ordinal));
        Assert.DoesNotContain("ok", result.Stdout.Split('\n'));
    }

    [Fact]
    public async Task RenderDag_OnTheDag_PassesEveryCheck()
    {
        var result = await PythonAsync([Render, Dag], TestContext.Current.CancellationToken);

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.Equal("ok", result.Stdout.Trim());
    }

    [Fact]
    public async Task RenderDag_OnTheDagBeforeIssue18_FailsOnEachItem()
    {
        var result = await PythonAsync([Render, DagBeforeIssue18], TestContext.Current.CancellationToken);

        Assert.Equal(1, result.ExitCode);
        var lines = result.Stdout.Split('\n');
        (string Item, string Problem, string Detail)[] expected =
        [
            ("1, shell injection through a param", "bash mode, hostile symbols \"x'; touch ", "and the marker file was created"),
            ("1, shell injection through a Variable", "bash mode, hostile variable \"x'; touch ", "and the marker file was created"),
            ("2, no data interval on Airflow 3", "Airflow 3, manual without a logical date, bash mode, fetch_symbols: rendering fails: UndefinedError", ""),
            ("2, the failure callback", "kubernetes mode, Airflow 3, manual without a logical date: the failure callback of fetch_symbols raises KeyError", ""),
            ("2, a cron string on Airflow 3", "Airflow 3: schedule '0 */6 * * *': a cron string is a CronTriggerTimetable", ""),
            ("3, retries", "retries of fetch_symbols: 3 tries, waits [(5.0, 10.0), (10.0, 20.0), (20.0, 30.0)] minutes", ""),
            ("4, deprecated import", "Airflow 3, bash mode: imports through deprecation shims: airflow.operators.bash.BashOperator", ""),
            ("5, a pod started from the callback", "kubernetes mode, Airflow 3, scheduled: the failure callback of fetch_symbols calls KubernetesPodOperator(fetch_symbols_batch_failed_alert).execute outside the DAG", "pushing XCom [('fetch_symbols', 'pod_name')] onto the failed task"),
        ];
        Assert.All(expected, e => Assert.True(
            lines.Any(line => line.StartsWith(e.Problem, StringComparison.Ordinal) && line.Contains(e.Detail, StringComparison.Ordinal)),
            $"item {e.Item}: no line starting with {e.Problem}\n{result.Stdout}"));
    }

    [Theory]
    [InlineData("append_env=True", "append_env=False", "Airflow 2, scheduled, bash mode, fetch_symbols: breadboard got []")]
    [InlineData("words.append(f'\"${name}\"')", "words.append(f'${name}')", "bash mode, BATCH_SYMBOLS='x; touch ")]
    [InlineData("if start is None or end is None or end <= start:", "if start is None or end is None:", "Airflow 3, zero-length interval, bash mode, fetch_symbols: rendering fails: ValueError: window")]
    [InlineData("    \"retry_delay\": RETRY_DELAY,\n}", "    \"retry_delay\": RETRY_DELAY,\n    \"retry_exponential_backoff\": True,\n}", "retries of fetch_symbols: 3 tries, waits [(5.0, 10.0)")]
    [InlineData("            from airflow.providers.standard.operators.bash import BashOperator\n", "            from airflow.operators.bash import BashOperator\n", "Airflow 3, bash mode: imports through deprecation shims: airflow.operators.bash.BashOperator")]
    [InlineData("    batch_done = EmptyOperator(task_id=\"batch_done\")\n", "", "Airflow 3, kubernetes mode: when fetch_symbols fails, batch_failed runs and the run is marked success; expected runs and failed")]
    public async Task RenderDag_OnAMutatedCopy_FailsNamingTheProblem(string original, string mutation, string expected)
    {
        var source = await File.ReadAllTextAsync(Dag, TestContext.Current.CancellationToken);
        Assert.Contains(original, source, StringComparison.Ordinal);
        using var dir = new TempDir();
        var copy = dir.File("historical_fetch.py");
        var mutated = source.Replace(original, mutation, StringComparison.Ordinal);
        if (mutation.Length == 0)
        {
            // Without batch_done the chain ends at write_clickhouse.
            mutated = mutated.Replace(" >> write_clickhouse >> batch_done", " >> write_clickhouse", StringComparison.Ordinal);
        }

        await File.WriteAllTextAsync(copy, mutated, TestContext.Current.CancellationToken);

        var result = await PythonAsync([Render, copy], TestContext.Current.CancellationToken);

        Assert.Equal(1, result.ExitCode);
        Assert.True(result.Stdout.Split('\n').Any(line => line.StartsWith(expected, StringComparison.Ordinal)), $"no line starting with {expected}\n{result.Stdout}");
        Assert.DoesNotContain("ok", result.Stdout.Split('\n'));
    }

    [Fact]
    public async Task Dag_RunsOnlyTheBatchStepsAndAlertsPublish()
    {
        var result = await PythonAsync([Check, Dag, "--print-commands"], TestContext.Current.CancellationToken);
        Assert.True(result.ExitCode == 0, result.Stderr);

        var subcommands = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .Select(words => $"{words[0]} {words[1]} {words[2]}")
            .ToHashSet();

        Assert.Equal(
            new HashSet<string> { "breadboard batch fetch", "breadboard batch validate", "breadboard batch write", "breadboard alerts publish" },
            subcommands);
    }

    [Fact]
    public async Task Dag_EveryCommandsOptions_AreOnesTheCliTakes()
    {
        var ct = TestContext.Current.CancellationToken;
        var printed = await PythonAsync([Check, Dag, "--print-commands"], ct);
        using var dir = new TempDir();
        foreach (var line in printed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var words = line.Split(' ');
            var options = words.Where(w => w.StartsWith("--", StringComparison.Ordinal)).ToList();
            Assert.NotEmpty(options);

            var help = await CliProcess.RunAsync(dir.Path, [words[1], words[2], "--help"]);

            Assert.Equal(0, help.ExitCode);
            Assert.All(options, o => Assert.Contains($"  {o} <", help.Stdout, StringComparison.Ordinal));
        }
    }

    private static async Task<CliProcess.Result> PythonAsync(string[] args, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Root };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (Win32Exception e)
        {
            // These checks are the only tests the DAG has here: no python3 is a failure, never a skip (and
            // render_dag.py exits 1 when jinja2 is missing).
            Assert.Fail($"python3 is needed to check the Airflow DAG and could not be started: {e.Message}");
            throw;
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            // render_dag.py takes a few seconds (it runs a few hundred bash commands); the machine may be busy.
            timeout.CancelAfter(TimeSpan.FromSeconds(120));
            await process.WaitForExitAsync(timeout.Token);
            return new CliProcess.Result(process.ExitCode, await stdout, await stderr);
        }
    }
}
