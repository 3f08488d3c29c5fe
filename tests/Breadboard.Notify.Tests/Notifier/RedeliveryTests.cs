using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Breadboard.Core.Codec;
using Breadboard.Core.Model;
using Breadboard.Notify.Channels;
using Breadboard.Notify.Notifier;
using Breadboard.Notify.Policy;
using Breadboard.Notify.Tests.Channels;
using Microsoft.Extensions.Logging.Abstractions;

namespace Breadboard.Notify.Tests.Notifier;

/// <summary>
/// The notifier against a bus that misbehaves as durable buses do after a hard kill: alerts handed out again,
/// writes that fail for a while. Each alert must still reach the channel exactly once.
/// </summary>
public sealed class RedeliveryTests
{
    private const long Hour = 3_600_000;

    private static readonly NotifierOptions Options = NotifierOptions.Default with
    {
        Policy = NoisePolicyOptions.Default with { GroupWait = TimeSpan.Zero, RepeatInterval = TimeSpan.FromHours(1) },
    };

    [Fact]
    public async Task Notifier_AnAlertHandedOutAgainAsNewAfterThePolicyForgotIt_IsNotSentAgain()
    {
        var ct = TestContext.Current.CancellationToken;
        var transport = new ScriptedTransport();
        var channel = new RecordingChannel();
        await using var run = Run.Start(channel, transport, ct);

        var early = Drop("S1", at: 0);
        await transport.Deliver(early).Acked.WaitAsync(TimeSpan.FromSeconds(20), ct);
        // Three hours on: two repeat intervals behind, the policy has forgotten the first alert.
        await transport.Deliver(Drop("S2", at: 3 * Hour)).Acked.WaitAsync(TimeSpan.FromSeconds(20), ct);

        // A single server killed hard lost the first acknowledgement: the alert comes back as a first delivery.
        await transport.Deliver(early).Acked.WaitAsync(TimeSpan.FromSeconds(20), ct);

        Assert.Equal(["S1", "S2"], channel.SentSymbols);
    }

    [Fact]
    public async Task Notifier_AnOldAlertNeverNotified_IsStillSent()
    {
        var ct = TestContext.Current.CancellationToken;
        var transport = new ScriptedTransport();
        var channel = new RecordingChannel();
        await using var run = Run.Start(channel, transport, ct);

        await transport.Deliver(Drop("S2", at: 3 * Hour)).Acked.WaitAsync(TimeSpan.FromSeconds(20), ct);
        await transport.Deliver(Drop("S1", at: 0)).Acked.WaitAsync(TimeSpan.FromSeconds(20), ct);

        Assert.Equal(["S2", "S1"], channel.SentSymbols);
    }

    [Fact]
    public async Task Notifier_RepeatStateNotSaved_RetriesTheSaveBeforeAcknowledging()
    {
        var ct = TestContext.Current.CancellationToken;
        var transport = new ScriptedTransport { SaveFailures = 2 };
        var channel = new RecordingChannel();
        await using var run = Run.Start(channel, transport, ct);

        await transport.Deliver(Drop("S1", at: 0)).Acked.WaitAsync(TimeSpan.FromSeconds(20), ct);

        Assert.Equal(["save failed", "save failed", "saved price_drop|S1", "ack price_drop|S1"], transport.Events);
    }

    private static Alert Drop(string symbol, long at)
    {
        var start = TestAlerts.Start + at;
        return new Alert(Alert.MakeId("price_drop", symbol, "5m", start), "price_drop", symbol, "5m", start, start + 300_000, -6, -5, start + 300_000);
    }

    private sealed class Run : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop;
        private readonly Task _running;

        private Run(CancellationTokenSource stop, Task running)
        {
            _stop = stop;
            _running = running;
        }

        public static Run Start(INotificationChannel channel, INotifierTransport transport, CancellationToken ct)
        {
            var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var notifier = new AlertNotifier(channel, transport, silences: null, Options, TimeProvider.System, NullLogger.Instance);
            return new Run(stop, notifier.RunAsync(stop.Token));
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _running;
            _stop.Dispose();
        }
    }

    /// <summary>Hands out exactly the deliveries the test makes, keeps its state in memory and records what it is asked to do.</summary>
    private sealed class ScriptedTransport : INotifierTransport
    {
        private readonly Channel<IAlertDelivery> _deliveries = Channel.CreateUnbounded<IAlertDelivery>();
        private readonly ConcurrentDictionary<string, long> _state = new();

        public int SaveFailures { get; set; }

        public ConcurrentQueue<string> Events { get; } = new();

        public Delivery Deliver(Alert alert, int deliveryCount = 1)
        {
            var delivery = new Delivery(alert, deliveryCount, Events);
            Assert.True(_deliveries.Writer.TryWrite(delivery));
            return delivery;
        }

        public async IAsyncEnumerable<IAlertDelivery> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var delivery in _deliveries.Reader.ReadAllAsync(cancellationToken))
            {
                yield return delivery;
            }
        }

        public ValueTask DeadLetterAsync(DeadLetter letter, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask<IReadOnlyDictionary<string, long>> LoadStateAsync(CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyDictionary<string, long>>(new Dictionary<string, long>(_state));

        public ValueTask<long?> NotifiedUpToAsync(string key, CancellationToken cancellationToken) =>
            ValueTask.FromResult(_state.TryGetValue(key, out var ts) ? ts : (long?)null);

        public ValueTask SaveStateAsync(IReadOnlyDictionary<string, long> changes, CancellationToken cancellationToken)
        {
            if (SaveFailures > 0)
            {
                SaveFailures--;
                Events.Enqueue("save failed");
                throw new InvalidOperationException("nats: no responders");
            }

            foreach (var (key, ts) in changes)
            {
                _state[key] = ts;
                Events.Enqueue($"saved {key}");
            }

            return ValueTask.CompletedTask;
        }
    }

    private sealed class Delivery(Alert alert, int deliveryCount, ConcurrentQueue<string> events) : IAlertDelivery
    {
        private readonly TaskCompletionSource _acked = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Acked => _acked.Task;

        public Alert? Alert => alert;

        public string? Problem => null;

        public ReadOnlyMemory<byte> Data => RecordJson.Alert(alert);

        public int DeliveryCount => deliveryCount;

        public ValueTask AckAsync(CancellationToken cancellationToken)
        {
            events.Enqueue($"ack {NoisePolicy.StateKey(alert.Rule, alert.Symbol)}");
            _acked.TrySetResult();
            return ValueTask.CompletedTask;
        }

        public ValueTask KeepAliveAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
