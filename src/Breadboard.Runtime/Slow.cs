using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Breadboard.Runtime;

/// <summary>Waits for a write that may hang (a store or bus that is down), and says so in the log while it waits.</summary>
public static class Slow
{
    /// <summary>How often a wait that goes on is logged.</summary>
    public static readonly TimeSpan LogEvery = TimeSpan.FromSeconds(5);

    /// <summary>Awaits <paramref name="write"/>, logging every <see cref="LogEvery"/> that it still waits, and once when it is done after such a log.</summary>
    public static async ValueTask WaitAsync(ValueTask write, string what, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        if (write.IsCompleted)
        {
            await write;
            return;
        }

        var task = write.AsTask();
        var clock = Stopwatch.StartNew();
        var logged = false;
        while (await Task.WhenAny(task, Task.Delay(LogEvery, CancellationToken.None)) != task)
        {
            RuntimeLog.StillWaiting(logger, what, clock.Elapsed.TotalSeconds);
            logged = true;
        }

        if (logged)
        {
            RuntimeLog.DoneWaiting(logger, what, clock.Elapsed.TotalSeconds);
        }

        await task;
    }
}
