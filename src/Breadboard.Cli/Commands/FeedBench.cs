using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Breadboard.Core.Model;
using Breadboard.Feeds.Live;

namespace Breadboard.Cli.Commands;

/// <summary>
/// <c>breadboard bench feed</c>: how many venue messages one core decodes and hands on, per venue: the live feed's
/// path from a whole WebSocket message to ticks in the bounded channel the pipeline reads, without the network.
/// </summary>
/// <remarks>Messages are generated in each venue's documented format, one trade each (the usual case for
/// aggTrade and Kraken; Coinbase batches trades every 250 ms, which only makes its messages cheaper per trade),
/// with distinct trade ids, prices and times. A reader task drains the channel as the pipeline would.</remarks>
internal static class FeedBench
{
    private static readonly string[] Symbols = ["BTC-USD", "ETH-USD", "SOL-USD", "AAPL", "MSFT"];

    public static Command Create()
    {
        var messages = new Option<int>("--messages") { Description = "Messages decoded per venue per run.", DefaultValueFactory = _ => 2_000_000 };
        var runs = new Option<int>("--runs") { Description = "Runs per venue; the best is reported.", DefaultValueFactory = _ => 3 };
        var command = new Command("feed", "Messages/s one core decodes and publishes per live venue (coinbase, binance, kraken, alpaca), network excluded.") { messages, runs };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var count = Math.Max(1_000, parse.GetValue(messages));
            Console.WriteLine($"bench feed: {count:N0} messages per venue, best of {Math.Max(1, parse.GetValue(runs))}; {Environment.ProcessorCount} cores; .NET {Environment.Version}");
            foreach (var venue in LiveFeeds.Names)
            {
                var protocol = venue == "alpaca" ? new Feeds.Live.Alpaca.AlpacaProtocol(["AAPL", "MSFT"], "bench", "bench") : LiveFeeds.Protocol(venue, Symbols);
                var corpus = Messages(venue, 10_000);
                var best = (Rate: 0.0, Allocated: 0.0);
                for (var run = 0; run < Math.Max(1, parse.GetValue(runs)); run++)
                {
                    var result = await RunAsync(protocol, corpus, count, cancellationToken);
                    best = result.Rate > best.Rate ? result : best;
                }

                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {venue,-9} {best.Rate,12:N0} messages/s (1 trade each)   {best.Allocated,6:F2} B allocated per message"));
            }

            return 0;
        }));
        return command;
    }

    private static async Task<(double Rate, double Allocated)> RunAsync(IVenueProtocol protocol, byte[][] corpus, int count, CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<Tick>(new BoundedChannelOptions(100_000) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        var drained = Task.Run(
            async () =>
            {
                long n = 0;
                await foreach (var _ in channel.Reader.ReadAllAsync(CancellationToken.None))
                {
                    n++;
                }

                return n;
            },
            CancellationToken.None);
        var sink = new PendingSink();
        protocol.OnConnected();
        var before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            sink.Pending.Clear();
            protocol.Decode(corpus[i % corpus.Length], sink);
            foreach (var tick in sink.Pending)
            {
                if (!channel.Writer.TryWrite(tick))
                {
                    await channel.Writer.WriteAsync(tick, cancellationToken);
                }
            }
        }

        var elapsed = clock.Elapsed;
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        channel.Writer.Complete();
        var trades = await drained;
        if (trades != count)
        {
            throw new InvalidOperationException($"{protocol.Name}: {trades:N0} trades from {count:N0} one-trade messages");
        }

        return (count / elapsed.TotalSeconds, (double)allocated / count);
    }

    /// <summary>Distinct one-trade messages of <paramref name="venue"/>: ids consecutive per symbol, so no gaps are reported.</summary>
    private static byte[][] Messages(string venue, int count)
    {
        var messages = new byte[count][];
        var t0 = new DateTimeOffset(2026, 1, 2, 14, 30, 0, TimeSpan.Zero);
        for (var i = 0; i < count; i++)
        {
            var price = (43_000 + (i % 997 * 0.01)).ToString("0.00", CultureInfo.InvariantCulture);
            var size = (0.001 + (i % 13 * 0.001)).ToString("0.000", CultureInfo.InvariantCulture);
            var time = t0.AddMilliseconds(i * 7);
            var iso = time.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
            var id = 1_000_000 + i;
            messages[i] = Encoding.UTF8.GetBytes(venue switch
            {
                "coinbase" => $$"""{"channel":"market_trades","client_id":"","timestamp":"{{iso}}","sequence_num":{{i}},"events":[{"type":"update","trades":[{"trade_id":"{{id}}","product_id":"BTC-USD","price":"{{price}}","size":"{{size}}","side":"BUY","time":"{{iso}}"}]}]}""",
                "binance" => $$"""{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":{{time.ToUnixTimeMilliseconds() + 1}},"s":"BTCUSDT","a":{{id}},"p":"{{price}}","q":"{{size}}","f":{{id * 2}},"l":{{(id * 2) + 1}},"T":{{time.ToUnixTimeMilliseconds()}},"m":true,"M":true} }""",
                "kraken" => $$"""{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":{{price}},"qty":{{size}},"ord_type":"market","trade_id":{{id}},"timestamp":"{{iso}}"}]}""",
                "alpaca" => $$"""[{"T":"t","S":"AAPL","i":{{id}},"x":"V","p":{{price}},"s":{{(i % 300) + 1}},"t":"{{iso}}","c":["@"],"z":"C"}]""",
                _ => throw new ArgumentException($"no message template for {venue}", nameof(venue)),
            });
        }

        return messages;
    }

    /// <summary>Collects one message's trades, as the live feed does before writing them to its channel.</summary>
    private sealed class PendingSink : IFeedSink
    {
        public List<Tick> Pending { get; } = new(64);

        public void Trade(in Tick tick) => Pending.Add(tick);

        public void SequenceGap(string symbol, string detail)
        {
            // Ids are consecutive: none.
        }
    }
}
