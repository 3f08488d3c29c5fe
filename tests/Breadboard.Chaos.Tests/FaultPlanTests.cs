namespace Breadboard.Chaos.Tests;

public class FaultPlanTests
{
    private static readonly TimeSpan Session = TimeSpan.FromSeconds(6);

    [Fact]
    public void Draw_TwoMinutes_HasEveryKindOfFault()
    {
        var plan = FaultPlan.Draw(TimeSpan.FromMinutes(2), Session, seed: 1);

        Assert.Equal(FaultPlan.Kinds(Session).Select(k => k.Name).Order(), plan.Select(f => f.Kind.Name).Distinct().Order());
    }

    [Fact]
    public void Draw_SameSeed_SamePlan_OtherSeed_OtherPlan()
    {
        var one = FaultPlan.Draw(TimeSpan.FromMinutes(10), Session, seed: 42);

        Assert.Equal(one, FaultPlan.Draw(TimeSpan.FromMinutes(10), Session, seed: 42));
        Assert.NotEqual(one, FaultPlan.Draw(TimeSpan.FromMinutes(10), Session, seed: 43));
    }

    [Fact]
    public void Draw_PausesAProcessorPastItsSessionTimeout_AndEndsFaultsBeforeTheRunEnds()
    {
        var duration = TimeSpan.FromMinutes(10);
        var plan = FaultPlan.Draw(duration, Session, seed: 7);

        Assert.All(plan.Where(f => f.Kind.Name.StartsWith("pause", StringComparison.Ordinal)), f => Assert.True(f.For > Session, f.ToString()));
        Assert.All(plan, f => Assert.True(f.At >= TimeSpan.FromSeconds(10) && f.At < duration - TimeSpan.FromSeconds(15), f.ToString()));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Draw_KillsWhatTheClickHouseLayoutHas_AReplicaAndZooKeeper_OrTheOneServer(bool replicated)
    {
        var kinds = FaultPlan.Draw(TimeSpan.FromMinutes(2), Session, seed: 3, replicated).Select(f => f.Kind.Name).ToHashSet();

        Assert.Equal(replicated, kinds.Contains("kill clickhouse replica"));
        Assert.Equal(replicated, kinds.Contains("kill zookeeper"));
        Assert.Equal(!replicated, kinds.Contains("kill clickhouse-server"));
    }
}
