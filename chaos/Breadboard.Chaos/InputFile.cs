using System.Text;
using Breadboard.Core.Model;
using Breadboard.Feeds;
using Breadboard.Feeds.Synthetic;

namespace Breadboard.Chaos;

/// <summary>The run's input: synthetic trades at the run's rate, with the disorder real feeds have.</summary>
/// <remarks>
/// Half a percent of the ticks arrive 1–400 s after their time (out of order within the pipeline's 5 s allowance,
/// or late past it), half a percent twice (duplicates), and one line in about 20,000 is not a tick at all (a reject).
/// Event time starts a minute before the run, so at <c>--speed 1</c> ticks are never dated in the future.
/// </remarks>
internal static class InputFile
{
    public sealed record Summary(long Lines, long Ticks, long Malformed);

    public static Summary Write(string path, double rate, TimeSpan duration, long seed)
    {
        var count = (long)(rate * duration.TotalSeconds);
        var options = SyntheticFeedOptions.ForBenchmark(96) with
        {
            RatePerSecond = rate,
            Seed = seed,
            StartTime = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds(),
        };
        var random = new Random((int)seed ^ 0x5eed);
        using var file = File.Create(path);
        var chunk = new List<Tick>(20_000);
        long ticks = 0, malformed = 0;
        foreach (var tick in new SyntheticFeed(options).Generate(count))
        {
            var roll = random.Next(1000);
            chunk.Add(roll < 5 ? tick with { Ts = tick.Ts - random.Next(1_000, 400_000) } : tick);
            if (roll is >= 5 and < 10)
            {
                chunk.Add(tick);
            }

            if (random.Next(20_000) == 0)
            {
                ticks += TickFileWriter.WriteNdjson(file, chunk);
                chunk.Clear();
                file.Write(Encoding.UTF8.GetBytes($"{{\"symbol\":\"{tick.Symbol}\",\"ts\":\"not a time\",\"price\":1}}\n"));
                malformed++;
            }
        }

        ticks += TickFileWriter.WriteNdjson(file, chunk);
        return new Summary(ticks + malformed, ticks, malformed);
    }
}
