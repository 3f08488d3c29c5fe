using System.Diagnostics;

namespace Breadboard.TestKit;

/// <summary>Waits for a condition by polling it against a deadline, instead of sleeping for a guessed time.</summary>
public static class Eventually
{
    /// <summary>How often a condition is checked.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>Returns as soon as <paramref name="condition"/> holds; throws <see cref="TimeoutException"/> naming
    /// <paramref name="what"/> when it still does not after <paramref name="timeout"/>.</summary>
    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return UntilAsync(_ => ValueTask.FromResult(condition()), timeout, what, cancellationToken);
    }

    /// <inheritdoc cref="UntilAsync(Func{bool}, TimeSpan, string, CancellationToken)"/>
    public static async Task UntilAsync(Func<CancellationToken, ValueTask<bool>> condition, TimeSpan timeout, string what, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var clock = Stopwatch.StartNew();
        while (!await condition(cancellationToken))
        {
            if (clock.Elapsed >= timeout)
            {
                throw new TimeoutException($"waited {timeout.TotalSeconds:0.#} s for {what}");
            }

            await Task.Delay(Interval, cancellationToken);
        }
    }
}
