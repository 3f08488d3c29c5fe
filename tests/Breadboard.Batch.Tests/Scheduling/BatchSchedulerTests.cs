using Breadboard.Batch.Scheduling;
using Breadboard.Batch.Steps;
using Breadboard.Batch.Tests.Steps;
using Breadboard.Core.Model;
using Breadboard.Core.Seams;
using Breadboard.Core.Streaming;
using Breadboard.DuckDb;
using Breadboard.TestKit;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Breadboard.Batch.Tests.Scheduling;

/// <summary>The embedded scheduler on a fake clock: cron times, retries 5 minutes apart, no catch-up, the failure alert.</summary>
public sealed class BatchSchedulerTests : IAsyncDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 1, 5, 4, 0, 0, TimeSpan.Zero); // a Monday, 04:00Z
    private readonly string _root = Directory.CreateTempSubdirectory("breadboard-sched-").FullName;
    private readonly DuckDbStore _store = DuckDbStore.Open(DuckDbStore.InMemoryPath);
    private readonly FakeTimeProvider _clock = new(Start);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    private async Task<BatchScheduler> SchedulerAsync(ListProvider provider, IAlertBus? alerts = null, TimeProvider? time = null)
    {
        await _store.InitializeAsync(Ct);
        var options = new ScheduleOptions { Symbols = ["BTC-USD"] };
        return new BatchScheduler(options, provider, new BatchSteps(_root), _store, alerts, time ?? _clock, NullLogger.Instance);
    }

    private static ListProvider Provider() =>
        new(new Dictionary<string, List<Bar>> { ["BTC-USD"] = ListProvider.Minutes("BTC-USD", Start.AddDays(-1).ToUnixTimeMilliseconds(), 3 * 24 * 60, 43_000) });

    /// <summary>
    /// Moves the fake clock from one wait of the scheduler to the next until <paramref name="done"/> holds: once the
    /// scheduler (on real threads) has started waiting on <paramref name="clock"/>, the clock jumps to when that wait
    /// ends, however long the work in between took in real time.
    /// </summary>
    private async Task AdvanceUntilAsync(WatchedClock clock, Func<Task<bool>> done, TimeSpan limit)
    {
        var end = _clock.GetUtcNow() + limit;
        var released = 0;
        while (!await done())
        {
            if (clock.Timers == released)
            {
                await Task.Delay(Eventually.Interval, Ct); // polling: the scheduler is working, not yet waiting
                continue;
            }

            released = clock.Timers;
            var due = clock.LastDue;
            if (due > end)
            {
                // The work may have finished between the check above and this next wait (seen under load):
                // only a wait past the limit with the work still not done is a failure.
                Assert.True(await done(), $"not done by {end:O}");
                return;
            }

            if (due > _clock.GetUtcNow())
            {
                _clock.SetUtcNow(due);
            }
        }
    }

    private async Task<List<BatchRun>> RunsAsync() => await _store.QueryBatchRunsAsync(100, Ct).ToListAsync(Ct);

    [Fact]
    public async Task Scheduler_RunsAtTheCronTimes_FetchingTheSixHoursBefore()
    {
        var provider = Provider();
        var clock = new WatchedClock(_clock);
        var scheduler = await SchedulerAsync(provider, time: clock);
        Assert.Equal(new DateTimeOffset(2026, 1, 5, 6, 0, 0, TimeSpan.Zero), scheduler.NextOccurrence());
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var running = scheduler.RunAsync(stop.Token);

        await AdvanceUntilAsync(clock, async () => (await RunsAsync()).Count(r => r.Status == "succeeded") == 2, TimeSpan.FromHours(13));
        await stop.CancelAsync();
        await running;

        var runs = await RunsAsync();
        Assert.Equal(["scheduled__2026-01-05T12:00:00Z", "scheduled__2026-01-05T06:00:00Z"], runs.Select(r => r.RunId));
        Assert.All(runs, r => Assert.Equal((360L, 1), (r.Rows, r.Attempt)));
        var bars = await _store.QueryBarsAsync(new BarQuery("BTC-USD", "1m"), Ct).ToListAsync(Ct);
        Assert.Equal(new DateTimeOffset(2026, 1, 5, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), bars[0].WindowStart);
        Assert.Equal(720, bars.Count);
    }

    [Fact]
    public async Task Occurrence_FailingTwice_RetriesFiveMinutesApartAndSucceeds()
    {
        var provider = Provider();
        provider.FailFor = "BTC-USD";
        var occurrence = new DateTimeOffset(2026, 1, 5, 6, 0, 0, TimeSpan.Zero);
        _clock.SetUtcNow(occurrence);
        var clock = new WatchedClock(_clock);
        var scheduler = await SchedulerAsync(provider, time: clock);

        var run = scheduler.RunOccurrenceAsync(occurrence, Ct);
        for (var retry = 1; retry <= 2; retry++)
        {
            // The clock moves only while the scheduler waits: just short of 5 minutes nothing happens, at 5 the next attempt runs.
            await clock.WaitForTimersAsync(retry, Ct);
            if (retry == 2)
            {
                provider.FailFor = null;
            }

            _clock.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
            await Task.Delay(100, Ct);
            Assert.Equal(retry, provider.Calls.Count);
            _clock.Advance(TimeSpan.FromSeconds(1));
            await WaitUntilAsync(() => provider.Calls.Count == retry + 1);
        }

        Assert.True(await run.WaitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.Equal(occurrence.AddMinutes(10), _clock.GetUtcNow());
        var last = Assert.Single(await RunsAsync());
        Assert.Equal(("succeeded", 3, 360L), (last.Status, last.Attempt, last.Rows));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 1_000 && !condition(); i++)
        {
            await Task.Delay(10, Ct);
        }

        Assert.True(condition());
    }

    [Fact]
    public async Task Occurrence_FailingEveryAttempt_RecordsTheFailure_AndRaisesBatchFailedOnce()
    {
        var provider = Provider();
        provider.FailFor = "BTC-USD";
        await using var bus = new MemoryAlertBus();
        using var listening = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var received = new List<Alert>();
        var subscription = Task.Run(async () =>
        {
            await foreach (var alert in bus.SubscribeAsync(cancellationToken: listening.Token))
            {
                received.Add(alert);
            }
        }, Ct);
        var clock = new WatchedClock(_clock);
        var scheduler = await SchedulerAsync(provider, bus, clock);
        var occurrence = new DateTimeOffset(2026, 1, 5, 6, 0, 0, TimeSpan.Zero);
        _clock.SetUtcNow(occurrence);

        var run = scheduler.RunOccurrenceAsync(occurrence, Ct);
        await AdvanceUntilAsync(clock, () => Task.FromResult(run.IsCompleted), TimeSpan.FromMinutes(30));

        Assert.False(await run);
        Assert.Equal(4, provider.Calls.Count); // the first try and 3 retries
        var failed = Assert.Single(await RunsAsync());
        Assert.Equal(("failed", 4, "list: BTC-USD failed"), (failed.Status, failed.Attempt, failed.Error));
        await WaitUntilAsync(() => received.Count > 0);
        await listening.CancelAsync();
        await subscription.ContinueWith(_ => { }, TaskScheduler.Default);
        var alert = Assert.Single(received);
        Assert.Equal(("batch_failed", "historical_fetch", 4.0), (alert.Rule, alert.Symbol, alert.Value));
        Assert.Equal(occurrence.AddHours(-6).ToUnixTimeMilliseconds(), alert.WindowStart);
    }

    [Fact]
    public async Task Scheduler_StartedLate_DoesNotCatchUpMissedRuns()
    {
        var provider = Provider();
        var clock = new WatchedClock(_clock);
        var scheduler = await SchedulerAsync(provider, time: clock);
        _clock.SetUtcNow(new DateTimeOffset(2026, 1, 5, 13, 0, 0, TimeSpan.Zero)); // 06:00 and 12:00 went by

        Assert.Equal(new DateTimeOffset(2026, 1, 5, 18, 0, 0, TimeSpan.Zero), scheduler.NextOccurrence());
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var running = scheduler.RunAsync(stop.Token);
        await clock.WaitForTimersAsync(1, Ct); // waiting for 18:00, having fetched nothing
        Assert.Empty(provider.Calls);
        await AdvanceUntilAsync(clock, async () => (await RunsAsync()).Count == 1 && (await RunsAsync())[0].Status == "succeeded", TimeSpan.FromHours(6));
        await stop.CancelAsync();
        await running;

        Assert.Equal("scheduled__2026-01-05T18:00:00Z", Assert.Single(await RunsAsync()).RunId);
    }

    [Fact]
    public void Options_WithABadCron_AreRefusedInOneLine()
    {
        var error = Assert.Throws<ArgumentException>(() => new ScheduleOptions { Cron = "every six hours" }.ParseCron());
        Assert.StartsWith("cron 'every six hours': ", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The fake clock, counting the timers set on it: a timer means the scheduler is waiting.</summary>
    private sealed class WatchedClock(FakeTimeProvider fake) : TimeProvider
    {
        private int _timers;
        private long _lastDueTicks;

        /// <summary>The timers set so far.</summary>
        public int Timers => Volatile.Read(ref _timers);

        /// <summary>When the last timer set is due.</summary>
        public DateTimeOffset LastDue => new(Interlocked.Read(ref _lastDueTicks), TimeSpan.Zero);

        public override long TimestampFrequency => fake.TimestampFrequency;

        public override TimeZoneInfo LocalTimeZone => fake.LocalTimeZone;

        public override DateTimeOffset GetUtcNow() => fake.GetUtcNow();

        public override long GetTimestamp() => fake.GetTimestamp();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = fake.CreateTimer(callback, state, dueTime, period);
            Interlocked.Exchange(ref _lastDueTicks, (fake.GetUtcNow() + dueTime).UtcTicks);
            Interlocked.Increment(ref _timers);
            return timer;
        }

        public async Task WaitForTimersAsync(int count, CancellationToken cancellationToken)
        {
            for (var i = 0; i < 3_000 && Volatile.Read(ref _timers) < count; i++)
            {
                await Task.Delay(10, cancellationToken);
            }

            Assert.True(Volatile.Read(ref _timers) >= count, $"the scheduler set {_timers} timers, expected {count}");
        }
    }
}
