using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.DuckDb;

namespace Breadboard.Chaos.Tests;

public class ChecksTests
{
    private static readonly string[] Reference = ["a", "b", "c"];

    [Fact]
    public async Task Ticks_SameTicksInAnyOrderOverMinutes_SameCountAndFingerprint_AndOneChangedPriceShows()
    {
        var ct = TestContext.Current.CancellationToken;
        const long T0 = 1_767_364_200_000;
        var ticks = Enumerable.Range(0, 500).Select(i => new Tick(i % 3 == 0 ? "AAPL" : "BTC-USD", T0 + (i * 457L), 100 + i, 1, TradeId.FromNumber(i), null, AssetClass.Crypto)).ToList();
        var directory = Directory.CreateTempSubdirectory("chaos-checks-").FullName;
        try
        {
            async Task<(long, ulong)> FingerprintAsync(string name, IEnumerable<Tick> written)
            {
                await using var store = DuckDbStore.Open(Path.Combine(directory, name + ".duckdb"));
                await store.InitializeAsync(ct);
                foreach (var chunk in written.Chunk(70))
                {
                    var batch = new StoreBatch();
                    batch.Ticks.AddRange(chunk);
                    await store.WriteAsync(batch, ct);
                }

                return await Checks.TicksAsync(store, ct);
            }

            // 500 ticks over almost 4 minutes of event time: read a minute at a time, none lost at a slice's edge.
            var inOrder = await FingerprintAsync("a", ticks);
            var shuffled = await FingerprintAsync("b", ticks.OrderBy(t => t.TradeId.Number % 7).ThenByDescending(t => t.Ts));
            var changed = await FingerprintAsync("c", ticks.Select((t, i) => i == 499 ? t with { Price = t.Price + 0.01 } : t));

            Assert.Equal(500, inOrder.Item1);
            Assert.Equal(inOrder, shuffled);
            Assert.Equal(500, changed.Item1);
            Assert.NotEqual(inOrder.Item2, changed.Item2);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void OncePerAlert_EachOnce_Holds()
    {
        Assert.True(Checks.OncePerAlert("s", Reference, ["c", "a", "b"]).Held);
    }

    [Theory]
    [InlineData(new[] { "a", "b" }, "1 missing")]
    [InlineData(new[] { "a", "b", "c", "b" }, "1 more than once")]
    [InlineData(new[] { "a", "b", "c", "x" }, "1 not in the reference")]
    public void OncePerAlert_MissingRepeatedOrExtra_Fails(string[] got, string says)
    {
        var check = Checks.OncePerAlert("s", Reference, got);

        Assert.False(check.Held);
        Assert.Contains(says, check.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void OncePerAlert_NoReferenceAlerts_FailsRatherThanPassingEmpty()
    {
        Assert.False(Checks.OncePerAlert("s", [], []).Held);
    }

    [Fact]
    public void Webhook_ARepeatedDeliveryId_IsAllowedOnlyOncePerNotifierKill()
    {
        var at = DateTimeOffset.UnixEpoch;
        WebhookSink.Delivery[] accepted = [new("n1", ["a"], at), new("n2", ["b", "c"], at), new("n1", ["a"], at)];

        Assert.True(Checks.Webhook(Reference, accepted, badSignatures: 0, notifierKills: 1).Held);
        Assert.False(Checks.Webhook(Reference, accepted, badSignatures: 0, notifierKills: 0).Held);
    }

    [Fact]
    public void Webhook_AMissingAlert_AnAlertInTwoDeliveries_OrABadSignature_Fails()
    {
        var at = DateTimeOffset.UnixEpoch;

        Assert.False(Checks.Webhook(Reference, [new("n1", ["a", "b"], at)], 0, 5).Held);
        Assert.False(Checks.Webhook(Reference, [new("n1", ["a", "b", "c"], at), new("n2", ["c"], at)], 0, 5).Held);
        Assert.False(Checks.Webhook(Reference, [new("n1", ["a", "b", "c"], at)], badSignatures: 1, notifierKills: 5).Held);
    }

    [Fact]
    public void SameLines_AnyOrder_Holds_ADifference_FailsNamingIt()
    {
        var dir = Directory.CreateTempSubdirectory("chaos-checks-").FullName;
        try
        {
            File.WriteAllLines(Path.Combine(dir, "ref"), ["x", "y"]);
            File.WriteAllLines(Path.Combine(dir, "same"), ["y", "x"]);
            File.WriteAllLines(Path.Combine(dir, "other"), ["y", "z"]);

            Assert.True(Checks.SameLines("bars", Path.Combine(dir, "ref"), Path.Combine(dir, "same")).Held);
            var check = Checks.SameLines("bars", Path.Combine(dir, "ref"), Path.Combine(dir, "other"));
            Assert.False(check.Held);
            Assert.Contains("first: x", check.Detail, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
