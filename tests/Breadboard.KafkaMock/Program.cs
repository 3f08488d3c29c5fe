using System.Globalization;
using Breadboard.TestKit.Kafka;

namespace Breadboard.KafkaMock;

/// <summary>
/// Hosts librdkafka's mock Kafka cluster for other processes:
/// <c>dotnet Breadboard.KafkaMock.dll [--brokers 3] [--topic NAME:PARTITIONS ...]</c>.
/// </summary>
/// <remarks>
/// Prints one line <c>bootstrap=HOST:PORT,...</c> on stdout, then answers each stdin line (<c>down N</c>, <c>up N</c>,
/// <c>topic NAME PARTITIONS</c>, <c>quit</c>) with <c>ok</c> or <c>error: ...</c>. It exits on <c>quit</c> or when
/// stdin closes, so the brokers die with whoever started them.
/// </remarks>
internal static class Program
{
    private const string Usage = "usage: Breadboard.KafkaMock [--brokers N] [--topic NAME:PARTITIONS ...]";

    public static int Main(string[] args)
    {
        if (!TryParse(args, out var brokers, out var topics, out var problem))
        {
            Console.Error.WriteLine($"error: {problem}");
            Console.Error.WriteLine(Usage);
            return 2;
        }

        using var cluster = KafkaMockCluster.Start(brokers);
        foreach (var (name, partitions) in topics)
        {
            cluster.CreateTopic(name, partitions);
        }

        Console.Out.WriteLine($"bootstrap={cluster.BootstrapServers}");
        Console.Out.Flush();

        while (Console.In.ReadLine() is { } line)
        {
            var reply = Execute(cluster, line, out var quit);
            Console.Out.WriteLine(reply);
            Console.Out.Flush();
            if (quit)
            {
                break;
            }
        }

        return 0;
    }

    private static string Execute(KafkaMockCluster cluster, string line, out bool quit)
    {
        quit = false;
        var words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        try
        {
            switch (words)
            {
                case ["quit"]:
                    quit = true;
                    return "ok";
                case ["down", var id]:
                    cluster.BrokerDown(BrokerId(cluster, id));
                    return "ok";
                case ["up", var id]:
                    cluster.BrokerUp(BrokerId(cluster, id));
                    return "ok";
                case ["topic", var name, var partitions]:
                    cluster.CreateTopic(name, Positive(partitions, "partition count"));
                    return "ok";
                case []:
                    return "error: empty command";
                default:
                    return $"error: unknown command '{line.Trim()}' (expected: down N | up N | topic NAME PARTITIONS | quit)";
            }
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException)
        {
            // One reply per command line: the caller reads exactly one line back.
            return "error: " + e.Message.ReplaceLineEndings(" ");
        }
    }

    private static int BrokerId(KafkaMockCluster cluster, string text)
    {
        var id = Positive(text, "broker id");
        return id <= cluster.Brokers
            ? id
            : throw new FormatException($"broker id {id} is not in 1..{cluster.Brokers}");
    }

    private static int Positive(string text, string what) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new FormatException($"{what} must be a positive integer, not '{text}'");

    private static bool TryParse(string[] args, out int brokers, out List<(string Name, int Partitions)> topics, out string problem)
    {
        brokers = 3;
        topics = [];
        problem = "";
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--brokers" when value is not null && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0:
                    brokers = n;
                    i++;
                    break;
                case "--topic" when value is not null && TryParseTopic(value, out var topic):
                    topics.Add(topic);
                    i++;
                    break;
                case "--brokers" or "--topic":
                    problem = $"{args[i]} needs a value like {(args[i] == "--brokers" ? "3" : "ticks:6")}, not '{value}'";
                    return false;
                default:
                    problem = $"unknown argument '{args[i]}'";
                    return false;
            }
        }

        return true;
    }

    private static bool TryParseTopic(string text, out (string Name, int Partitions) topic)
    {
        topic = default;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var partitions) || partitions < 1)
        {
            return false;
        }

        topic = (text[..colon], partitions);
        return true;
    }
}
