using System.CommandLine;
using Breadboard.Cli.Settings;
using Breadboard.Core.Pipeline;

namespace Breadboard.Cli.Commands;

/// <summary><c>breadboard validate-config</c>: checks the pipeline definition and the seam settings without running anything.</summary>
internal static class ValidateConfigCommand
{
    public static Command Create()
    {
        var pipeline = CommandRunner.PipelineOption();
        var print = new Option<bool>("--print") { Description = "Print the effective pipeline as YAML." };
        var command = new Command("validate-config", "Check the pipeline definition and the --bus/--store/--alerts/--engine/--scheduler settings.") { pipeline, print };
        command.SetAction((parse, _) => CommandRunner.RunAsync(() =>
        {
            var definition = CommandRunner.LoadPipeline(parse.GetValue(pipeline));
            foreach (var seam in Seams.All)
            {
                seam.Resolve(parse);
            }

            if (parse.GetValue(print))
            {
                Console.Write(PipelineLoader.ToYaml(definition));
            }
            else
            {
                var indicators = definition.Indicators.Count == 0 ? "" : $", {definition.Indicators.Count} indicators ({string.Join(", ", definition.Indicators.Select(i => i.Name))})";
                Console.WriteLine($"ok: {definition.Windows.Count} windows ({string.Join(", ", definition.Windows.Select(w => w.Name))}){indicators}, {definition.Rules.Count} rules ({string.Join(", ", definition.Rules.Select(r => r.Name))})");
                foreach (var seam in Seams.All)
                {
                    Console.WriteLine($"  {seam.Flag[2..],-10} {seam.Shown(parse)}");
                }
            }

            return Task.FromResult(0);
        }));
        return command;
    }
}
