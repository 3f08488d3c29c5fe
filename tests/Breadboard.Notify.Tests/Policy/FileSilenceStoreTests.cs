using Breadboard.Notify.Policy;
using static Breadboard.Notify.Tests.Policy.PolicyKit;

namespace Breadboard.Notify.Tests.Policy;

public sealed class FileSilenceStoreTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("breadboard-silences-").FullName;

    private string FilePath => Path.Combine(_directory, "state", "silences.json");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task CreateListExpire_WorkAndPersistAcrossInstances()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = Clock();
        using var store = new FileSilenceStore(FilePath, clock);
        Assert.Empty(await store.ListAsync(includeExpired: true, ct));

        var kept = await store.CreateAsync(Mute(rule: "price_drop"), ct);
        var expired = await store.CreateAsync(Mute(symbol: "BTC-*"), ct);
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.True(await store.ExpireAsync(expired.Id, ct));
        Assert.True(await store.ExpireAsync(expired.Id, ct));
        Assert.False(await store.ExpireAsync("no-such-id", ct));

        using var other = new FileSilenceStore(FilePath, clock);
        Assert.Equal([kept], await other.ListAsync(includeExpired: false, ct));
        var all = await other.ListAsync(includeExpired: true, ct);
        Assert.Equal([kept.Id, expired.Id], all.Select(s => s.Id));
        Assert.Equal(Now0.AddMinutes(5), all[1].EndsAt);
        Assert.False(all[1].IsActive(clock.GetUtcNow()));
    }

    [Fact]
    public async Task ExpireAsync_PendingSilence_NeverBecomesActive()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = Clock();
        using var store = new FileSilenceStore(FilePath, clock);
        var pending = await store.CreateAsync(Mute(rule: "price_drop", starts: Now0.AddHours(1), ends: Now0.AddHours(2)), ct);
        Assert.Single(await store.ListAsync(includeExpired: false, ct));

        Assert.True(await store.ExpireAsync(pending.Id, ct));

        var after = Assert.Single(await store.ListAsync(includeExpired: true, ct));
        Assert.Equal((Now0, Now0), (after.StartsAt, after.EndsAt));
        Assert.Empty(await store.ListAsync(includeExpired: false, ct));
        Assert.False(after.IsActive(Now0.AddHours(1.5)));
    }

    [Fact]
    public async Task CreateAsync_Invalid_ThrowsWithTheOneLineReason()
    {
        var ct = TestContext.Current.CancellationToken;
        using var store = new FileSilenceStore(FilePath, Clock());
        var silence = Mute(rule: "price_drop");
        await store.CreateAsync(silence, ct);

        var noMatcher = await Assert.ThrowsAsync<ArgumentException>(async () => await store.CreateAsync(Mute(), ct));
        var taken = await Assert.ThrowsAsync<ArgumentException>(async () => await store.CreateAsync(silence, ct));

        Assert.StartsWith("silence: give at least one of rule, symbol, channel", noMatcher.Message, StringComparison.Ordinal);
        Assert.StartsWith($"silence: id {silence.Id} already exists", taken.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateAsync_Concurrently_LosesNothing()
    {
        var ct = TestContext.Current.CancellationToken;
        using var store = new FileSilenceStore(FilePath, Clock());
        var silences = Enumerable.Range(0, 40).Select(i => Mute(symbol: $"SYM{i}")).ToList();

        await Task.WhenAll(silences.Select(s => Task.Run(async () => await store.CreateAsync(s, ct), ct)));

        using var reader = new FileSilenceStore(FilePath, Clock());
        var stored = await reader.ListAsync(includeExpired: true, ct);
        Assert.Equal(silences.Select(s => s.Id).Order(), stored.Select(s => s.Id).Order());
        Assert.Equal([Path.GetFileName(FilePath)], Directory.GetFiles(Path.GetDirectoryName(FilePath)!).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Write_DropsSilencesEndedMoreThanSevenDaysAgo()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = Clock();
        using var store = new FileSilenceStore(FilePath, clock);
        var old = await store.CreateAsync(Mute(rule: "price_drop", ends: Now0.AddHours(1)), ct);
        clock.Advance(TimeSpan.FromDays(7));

        // Ended 6 days 23 hours ago: still listed with the expired ones.
        var recent = await store.CreateAsync(Mute(rule: "volume_surge", starts: clock.GetUtcNow(), ends: clock.GetUtcNow().AddDays(1)), ct);
        Assert.Equal(2, (await store.ListAsync(includeExpired: true, ct)).Count);

        // The next write, one hour and a millisecond later, drops it.
        clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMilliseconds(1));
        Assert.True(await store.ExpireAsync(recent.Id, ct));

        Assert.Equal([recent.Id], (await store.ListAsync(includeExpired: true, ct)).Select(s => s.Id));
        Assert.NotEqual(old.Id, recent.Id);
    }

    [Theory]
    [InlineData("{not json", "not JSON: ")]
    [InlineData("{}", "not a JSON array of silences")]
    [InlineData("""[{"id":"a","starts_at":"2026-01-03T09:00:00Z","ends_at":"2026-01-03T10:00:00Z"}]""", "item 0: silence: give at least one of rule, symbol, channel")]
    public async Task ListAsync_CorruptFile_ThrowsOneLineErrorNamingThePath(string content, string detail)
    {
        var ct = TestContext.Current.CancellationToken;
        Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
        await File.WriteAllTextAsync(FilePath, content, ct);
        using var store = new FileSilenceStore(FilePath, Clock());

        var error = await Assert.ThrowsAsync<InvalidDataException>(async () => await store.ListAsync(includeExpired: true, ct));
        await Assert.ThrowsAsync<InvalidDataException>(async () => await store.CreateAsync(Mute(rule: "x"), ct));

        Assert.StartsWith($"silences file {FilePath} is unreadable: {detail}", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Equal(content, await File.ReadAllTextAsync(FilePath, ct));
    }
}
