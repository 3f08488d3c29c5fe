using System.ComponentModel;
using System.Diagnostics;
using Breadboard.TestKit;

namespace Breadboard.Cli.Tests.Airflow;

/// <summary>
/// The historical_fetch DAG, checked without Airflow (not installable here): tests/airflow/check_dag.py reads it with
/// Python's ast; these tests run that check, show it fails on broken copies, and compare the CLI commands the DAG uses.
/// </summary>
public sealed class AirflowDagTests
{
    private static readonly string Root = Repository.Root();
    private static readonly string Dag = Path.Combine(Root, "deploy", "airflow", "dags", "historical_fetch.py");
    private static readonly string Check = Path.Combine(Root, "tests", "airflow", "check_dag.py");

    [Fact]
    public async Task CheckDag_OnTheDag_PassesEveryCheck()
    {
        var result = await PythonAsync([Check, Dag], TestContext.Current.CancellationToken);

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.Equal("ok", result.Stdout.Trim());
    }

    [Theory]
    [InlineData("\"retries\": 3,", "\"retries\": 2,", "default_args.retries: expected 3, found 2")]
    [InlineData("fetch_symbols >> validate_data >> write_clickhouse", "write_clickhouse >> validate_data >> fetch_symbols", "dependencies: fetch_symbols >> validate_data missing")]
    [InlineData("catchup=False", "catchup=True", "catchup: expected False, found True")]
    [InlineData("\"batch\", \"validate\", \"--run-id\", \"{{ run_id }}\"", "\"batch\", \"validate\"", "task validate_data: no `--run-id {{ run_id }}`")]
    [InlineData("    \"on_failure_callback\": publish_batch_failed,\n", "", "on_failure_callback: not set")]
    [InlineData("schedule=\"0 */6 * * *\"", "schedule=\"@daily\"", "schedule: expected '0 */6 * * *', found '@daily'")]
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
            // The check is the only test the DAG has here: no python3 is a failure, never a skip.
            Assert.Fail($"python3 is needed to check the Airflow DAG and could not be started: {e.Message}");
            throw;
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
            return new CliProcess.Result(process.ExitCode, await stdout, await stderr);
        }
    }
}
