using System.CommandLine;
using Breadboard.Cli.Settings;
using Breadboard.Core.Pipeline;
using Breadboard.Flink;

namespace Breadboard.Cli.Commands;

/// <summary><c>breadboard flink sql</c>: the pipeline definition compiled to one Flink SQL script.</summary>
internal static class FlinkCommand
{
    public static Command Create()
    {
        var pipeline = CommandRunner.PipelineOption();
        var jobName = new Option<string>("--job-name") { Description = "The Flink job's name (pipeline.name).", DefaultValueFactory = _ => "breadboard" };
        var parallelism = new Option<int>("--parallelism") { Description = "parallelism.default of the job.", DefaultValueFactory = _ => 2 };
        var checkpointInterval = new Option<string>("--checkpoint-interval") { Description = "Exactly-once checkpoint interval (30s, 1m).", DefaultValueFactory = _ => "30s" };
        var sql = new Command("sql", $"Print the pipeline compiled to Flink SQL (Flink {FlinkSqlCompiler.TargetFlinkVersion}): Kafka sources from --bus kafka://…, window TVFs, rules, exactly-once Kafka sinks.")
        {
            pipeline, jobName, parallelism, checkpointInterval,
        };
        sql.SetAction((parse, _) => CommandRunner.RunAsync(() =>
        {
            var definition = CommandRunner.LoadPipeline(parse.GetValue(pipeline));
            var bus = Backends.KafkaBus(parse);
            var intervalText = parse.GetValue(checkpointInterval)!;
            if (!DurationText.TryParse(intervalText, out var intervalMs))
            {
                throw new SettingException($"--checkpoint-interval '{intervalText}': use a duration like 30s or 1m");
            }

            var options = new FlinkOptions
            {
                BootstrapServers = bus.BootstrapServers,
                JobName = parse.GetValue(jobName)!,
                Parallelism = parse.GetValue(parallelism),
                CheckpointInterval = TimeSpan.FromMilliseconds(intervalMs),
            };
            try
            {
                Console.Write(FlinkSqlCompiler.Compile(definition, options));
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException)
            {
                throw new SettingException($"flink sql: {(e is ArgumentException a ? CommandRunner.OneLine(a) : e.Message)}");
            }

            return Task.FromResult(0);
        }));

        return new Command("flink", "The Flink engine: the pipeline as Flink SQL.") { sql };
    }
}
