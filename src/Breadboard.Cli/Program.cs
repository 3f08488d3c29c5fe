using System.CommandLine;
using Breadboard.Cli.Commands;
using Breadboard.Cli.Settings;

namespace Breadboard.Cli;

/// <summary>The breadboard command line.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Ctrl-C and SIGTERM cancel the command, which then writes what it has taken (store, alert bus) and exits.
        // That last write may wait for a store that is briefly away: allow it most of Kubernetes' default 30 s
        // grace period instead of System.CommandLine's 2 s, after which the process is ended regardless.
        return await BuildRootCommand().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(25) });
    }

    /// <summary>The whole command tree, so that tests parse command lines with the real grammar.</summary>
    public static RootCommand BuildRootCommand()
    {
        var root = new RootCommand("Breadboard: real-time market data. Ticks in; windowed bars and alerts out, stored and shown live.");
        foreach (var seam in Seams.All)
        {
            root.Options.Add(seam.Option);
        }

        root.Subcommands.Add(UpCommand.Create());
        root.Subcommands.Add(ApiCommand.Create());
        root.Subcommands.Add(IngestCommand.Create());
        root.Subcommands.Add(ProcessCommand.Create());
        root.Subcommands.Add(SinkCommand.Create());
        root.Subcommands.Add(LagCommand.Create());
        root.Subcommands.Add(AlertsCommand.Create());
        root.Subcommands.Add(NotifyCommand.Create());
        root.Subcommands.Add(SilencesCommand.Create());
        root.Subcommands.Add(StoreCommand.Create());
        root.Subcommands.Add(BatchCommand.Create());
        root.Subcommands.Add(FlinkCommand.Create());
        root.Subcommands.Add(ReplayCommand.Create());
        root.Subcommands.Add(BacktestCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(ValidateConfigCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(SettingsCommand.Create());
        root.Subcommands.Add(DoctorCommand.Create());
        return root;
    }
}
