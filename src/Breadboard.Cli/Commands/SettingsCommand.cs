using System.CommandLine;
using Breadboard.Cli.Settings;

namespace Breadboard.Cli.Commands;

/// <summary><c>breadboard settings</c>: lists the environment variables the product reads.</summary>
/// <remarks>Prints names and descriptions only, never values: many of them are secrets.</remarks>
internal static class SettingsCommand
{
    public static Command Create()
    {
        var names = new Option<bool>("--names") { Description = "Print only the names, one per line." };
        var command = new Command("settings", "List the BREADBOARD_* environment variables and what they set (never their values).") { names };
        command.SetAction(parse =>
        {
            var width = EnvironmentSettings.All.Max(s => s.Name.Length);
            foreach (var setting in EnvironmentSettings.All)
            {
                Console.WriteLine(parse.GetValue(names)
                    ? setting.Name
                    : $"{setting.Name.PadRight(width)}  {setting.Description}{(setting.Secret ? " (secret)" : "")}");
            }
        });
        return command;
    }
}
