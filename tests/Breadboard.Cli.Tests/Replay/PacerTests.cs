using Breadboard.Cli.Replay;

namespace Breadboard.Cli.Tests.Replay;

public class PacerTests
{
    private const long T0 = 1_767_364_200_000;

    [Fact]
    public async Task Wait_AfterATickFromTheFarFuture_DoesNotStallTheTicksAfterIt()
    {
        // At 1000× the next second of event time is 1 ms; 2099 is 73 years away, which would be 26 days.
        var pacer = new Pacer(1_000);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        foreach (var ts in new[] { T0, 4_084_000_000_000, T0 + 1_000, T0 + 2_000 })
        {
            await pacer.WaitAsync(ts, stop.Token);
        }
    }

    [Fact]
    public async Task Wait_OverAGapOfMoreThanADay_StartsPacingAgainAfterIt()
    {
        var pacer = new Pacer(60);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        foreach (var ts in new[] { T0, T0 + (3 * Pacer.MaxGapMs), T0 + (3 * Pacer.MaxGapMs) + 60 })
        {
            await pacer.WaitAsync(ts, stop.Token);
        }
    }
}
