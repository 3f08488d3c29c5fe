using System.CommandLine;
using System.Globalization;
using Breadboard.Cli.Settings;
using Breadboard.Core.Seams;
using Breadboard.Kafka;

namespace Breadboard.Cli.Commands;

/// <summary><c>breadboard lag</c>: the processor group's lag per partition, in messages and seconds.</summary>
internal static class LagCommand
{
    public static Command Create()
    {
        var group = new Option<string>("--group") { Description = "Consumer group.", DefaultValueFactory = _ => KafkaBusOptions.ProcessorGroup };
        var command = new Command("lag", "Print the stream-processor group's consumer lag per partition (messages and seconds).") { group };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(async () =>
        {
            var bus = Backends.KafkaBus(parse);
            IReadOnlyList<PartitionLag> lag;
            try
            {
                lag = await Task.Run(() => GroupLag.Read(bus, parse.GetValue(group)!, TimeSpan.FromSeconds(10)), cancellationToken);
            }
            catch (Confluent.Kafka.KafkaException e)
            {
                throw new SettingException($"{Seams.Bus.Describe(Seams.Bus.Resolve(parse))}: {OutsideText.ForDisplay(e.Error.Reason)}");
            }

            Console.WriteLine($"{"topic",-14} {"partition",9} {"committed",12} {"end",12} {"lag",10} {"lag s",8}");
            foreach (var p in lag)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{p.Topic,-14} {p.Partition,9} {p.Position,12} {p.HighWatermark,12} {p.LagMessages,10} {p.LagSeconds,8:F1}"));
            }

            var max = lag.Count == 0 ? null : lag.MaxBy(p => p.LagSeconds);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"max lag: {lag.Sum(p => p.LagMessages):N0} messages in all, {max?.LagSeconds ?? 0:F1} s ({(max is null ? "no partitions" : $"{max.Topic}/{max.Partition}")})"));
            return 0;
        }));
        return command;
    }
}
