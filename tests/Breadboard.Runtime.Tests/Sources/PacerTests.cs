using Breadboard.Runtime.Sources;

namespace Breadboard.Runtime.Tests.Sources;

public class PacerTests
{
    private const long T0 = 1_767_364_200_000;

    [Fact]
    public void Schedule_AtTenTimesEventTime_MakesTheNextSecondDueInATenth()
    {
        var pacer = new Pacer(10);
        pacer.Schedule(T0);
        Assert.True(pacer.Remaining <= TimeSpan.Zero);

        pacer.Schedule(T0 + 1_000);
        Assert.InRange(pacer.Remaining, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void Schedule_AfterATickFromTheFarFuture_DoesNotStallTheTicksAfterIt()
    {
        // At 1000× the next second of event time is 1 ms; 2099 is 73 years away, which would be 26 days.
        var pacer = new Pacer(1_000);
        foreach (var ts in new[] { T0, 4_084_000_000_000, T0 + 1_000 })
        {
            pacer.Schedule(ts);
            Assert.True(pacer.Remaining <= TimeSpan.FromMilliseconds(1), $"{ts}: due in {pacer.Remaining}");
        }
    }

    [Fact]
    public void Schedule_OverAGapOfMoreThanADay_StartsPacingAgainAfterIt()
    {
        var pacer = new Pacer(60);
        pacer.Schedule(T0);
        pacer.Schedule(T0 + (3 * Pacer.MaxGapMs));
        Assert.True(pacer.Remaining <= TimeSpan.Zero);
    }
}
