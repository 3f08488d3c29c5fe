using System.CommandLine;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.DuckDb;

namespace Breadboard.Cli.Settings;

/// <summary>Opens the store and alert bus the seams name; a bad URL or an unreachable backend becomes a <see cref="SettingException"/>.</summary>
internal static class Backends
{
    public static async Task<IMarketStore> OpenStoreAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var url = Seams.Store.Resolve(parse);
        if (!DuckDbStore.TryParseUrl(url, out var path, out var error))
        {
            throw new SettingException($"{Seams.Store.Describe(url)}: {error}");
        }

        DuckDbStore? store = null;
        try
        {
            store = DuckDbStore.Open(path);
            await store.InitializeAsync(cancellationToken);
            return store;
        }
        catch (Exception e) when (e is System.Data.Common.DbException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            if (store is not null)
            {
                await store.DisposeAsync();
            }

            throw new SettingException($"{Seams.Store.Describe(url)}: cannot open the database: {FirstLine(e.Message)}");
        }
    }

    public static IAlertBus OpenAlertBus(ParseResult parse)
    {
        Seams.Alerts.Resolve(parse);
        return new MemoryAlertBus();
    }

    /// <summary>Checks the seams this build does not open itself yet (bus, engine, scheduler) name known schemes.</summary>
    public static void CheckOtherSeams(ParseResult parse)
    {
        Seams.Bus.Resolve(parse);
        Seams.Engine.Resolve(parse);
        Seams.Scheduler.Resolve(parse);
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOf('\n', StringComparison.Ordinal);
        return end < 0 ? message : message[..end];
    }
}
