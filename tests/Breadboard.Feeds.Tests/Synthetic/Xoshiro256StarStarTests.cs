using Breadboard.Feeds.Synthetic;

namespace Breadboard.Feeds.Tests.Synthetic;

public class Xoshiro256StarStarTests
{
    [Fact]
    public void NextUInt64_FromState1234_MatchesTheReferenceImplementation()
    {
        // The first outputs of Vigna's xoshiro256starstar.c with s = {1, 2, 3, 4}.
        ulong[] expected =
        [
            11520, 0, 1509978240, 1215971899390074240, 1216172134540287360,
            607988272756665600, 16172922978634559625, 8476171486693032832,
            10595114339597558777, 2904607092377533576,
        ];
        var random = new Xoshiro256StarStar(1, 2, 3, 4);

        foreach (var value in expected)
        {
            Assert.Equal(value, random.NextUInt64());
        }
    }

    [Fact]
    public void SplitMix64_FromSeed1234567_MatchesTheReferenceImplementation()
    {
        var x = 1234567UL;

        Assert.Equal(6457827717110365317UL, Xoshiro256StarStar.SplitMix64(ref x));
        Assert.Equal(3203168211198807973UL, Xoshiro256StarStar.SplitMix64(ref x));
        Assert.Equal(9817491932198370423UL, Xoshiro256StarStar.SplitMix64(ref x));
    }

    [Fact]
    public void Variates_OverManyDraws_HaveTheirDistributionsMoments()
    {
        var random = new Xoshiro256StarStar(42);
        const int n = 200_000;
        double uniformSum = 0, exponentialSum = 0, normalSum = 0, normalSquares = 0;
        var counts = new int[7];
        for (var i = 0; i < n; i++)
        {
            var u = random.NextDouble();
            Assert.InRange(u, 0.0, 0.9999999999999999);
            uniformSum += u;
            var e = random.NextExponential();
            Assert.True(double.IsFinite(e) && e >= 0);
            exponentialSum += e;
            var z = random.NextNormal();
            normalSum += z;
            normalSquares += z * z;
            counts[random.NextInt(7)]++;
        }

        Assert.InRange(uniformSum / n, 0.497, 0.503);
        Assert.InRange(exponentialSum / n, 0.99, 1.01);
        Assert.InRange(normalSum / n, -0.01, 0.01);
        Assert.InRange(normalSquares / n, 0.98, 1.02);
        Assert.All(counts, c => Assert.InRange(c, (n / 7) - 1000, (n / 7) + 1000));
    }
}
