using System.CommandLine;
using Breadboard.Cli.Settings;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline;
using Breadboard.Core.Seams;
using Breadboard.Notify.Policy;

namespace Breadboard.Cli.Commands;

/// <summary><c>breadboard silences list|create|expire</c>: mute notifications for a while, in the store the notifiers read.</summary>
internal static class SilencesCommand
{
    public static Command Create()
    {
        var all = new Option<bool>("--all") { Description = "Also silences that ended (kept for 7 days)." };
        var list = new Command("list", "Active and pending silences.") { all };
        list.SetAction((parse, cancellationToken) => WithStoreAsync(parse, async store =>
        {
            var silences = await store.ListAsync(parse.GetValue(all), cancellationToken);
            Console.WriteLine($"{"id",-32}  {"rule",-14} {"symbol",-12} {"channel",-8} {"starts_at",-24} {"ends_at",-24} comment");
            foreach (var s in silences)
            {
                // Anyone with access to the API or the bucket wrote these: shown without escape sequences or bidi overrides.
                Console.WriteLine($"{Shown(s.Id),-32}  {Shown(s.Rule ?? "*"),-14} {Shown(s.Symbol ?? "*"),-12} {Shown(s.Channel ?? "*"),-8} {Iso(s.StartsAt),-24} {Iso(s.EndsAt),-24} {Shown(s.Comment)}");
            }

            return 0;
        }, cancellationToken));

        var rule = new Option<string?>("--rule") { Description = "Rule to mute (price_drop, …); any when omitted." };
        var symbol = new Option<string?>("--symbol") { Description = "Symbol to mute, or a prefix ending in * (BTC-*); any when omitted." };
        var channel = new Option<string?>("--channel") { Description = $"Channel to mute ({string.Join(", ", Silence.ChannelNames)}); every one when omitted." };
        var duration = new Option<string?>("--duration") { Description = $"How long, like 30m, 2h or 1d, at most {Silence.MaxDurationText} (or give --until)." };
        var until = new Option<string?>("--until") { Description = $"End time: ISO-8601 UTC, a date or epoch ms; at most {Silence.MaxDurationText} after the start." };
        var starts = new Option<string?>("--starts") { Description = "Start time; now when omitted." };
        var comment = new Option<string?>("--comment") { Description = $"Why, for whoever reads the list (at most {Silence.MaxCommentLength} characters)." };
        var byOption = new Option<string?>("--by") { Description = "Who; default the user name." };
        var create = new Command("create", "Mute notifications matching every given matcher for a while.") { rule, symbol, channel, duration, until, starts, comment, byOption };
        create.SetAction((parse, cancellationToken) => WithStoreAsync(parse, async store =>
        {
            var startsAt = parse.GetValue(starts) is { } s ? Time("--starts", s) : DateTimeOffset.UtcNow;
            DateTimeOffset endsAt;
            if ((parse.GetValue(duration) is null) == (parse.GetValue(until) is null))
            {
                throw new SettingException("give exactly one of --duration and --until");
            }

            var endOption = parse.GetValue(until) is null ? "--duration" : "--until";
            if (parse.GetValue(until) is { } u)
            {
                endsAt = Time("--until", u);
            }
            else if (!Silence.TryEnd(startsAt, parse.GetValue(duration), out endsAt, out var problem))
            {
                throw new SettingException($"--duration: {problem}");
            }

            var by = parse.GetValue(byOption) ?? Environment.UserName;
            var problems = Silence.Check(parse.GetValue(rule), parse.GetValue(symbol), parse.GetValue(channel), startsAt, endsAt, by, parse.GetValue(comment));
            if (problems.Count > 0)
            {
                // One line naming each option at fault; the matcher rule keeps the model's own wording.
                throw new SettingException(string.Join("; ", problems.Select(p => p.Key == "silence" ? $"silence: {p.Value}" : $"{Option(p.Key, endOption)}: {p.Value}")));
            }

            if (!Silence.TryCreate(parse.GetValue(rule), parse.GetValue(symbol), parse.GetValue(channel), startsAt, endsAt, by, parse.GetValue(comment), out var silence, out var error))
            {
                throw new SettingException(error);
            }

            await store.CreateAsync(silence, cancellationToken);
            Console.WriteLine($"silence {silence.Id}: {Shown(silence.Rule ?? "any rule")}, {Shown(silence.Symbol ?? "any symbol")}, {Shown(silence.Channel ?? "every channel")}, {Iso(silence.StartsAt)} to {Iso(silence.EndsAt)}");
            return 0;
        }, cancellationToken));

        var id = new Argument<string>("id") { Description = "The silence's id, from 'silences list'." };
        var expire = new Command("expire", "End a silence now.") { id };
        expire.SetAction((parse, cancellationToken) => WithStoreAsync(parse, async store =>
        {
            if (!await store.ExpireAsync(parse.GetValue(id)!, cancellationToken))
            {
                throw new SettingException($"no silence '{parse.GetValue(id)}'");
            }

            Console.WriteLine($"silence {parse.GetValue(id)} ended");
            return 0;
        }, cancellationToken));

        return new Command("silences", "Notification silences, in the NATS key-value bucket with --alerts nats://…, else in silences.json beside the store.") { list, create, expire };
    }

    private static Task<int> WithStoreAsync(ParseResult parse, Func<ISilenceStore, Task<int>> body, CancellationToken cancellationToken) =>
        CommandRunner.RunAsync(async () =>
        {
            if (Seam.SchemeOf(Seams.Alerts.Resolve(parse)) != "nats")
            {
                return await RunAsync(Notifications.Silences(parse, null), body);
            }

            var (connection, js) = await Notifications.ConnectAsync(parse, "silences", cancellationToken);
            await using (connection)
            {
                return await RunAsync(Notifications.Silences(parse, js), body);
            }
        });

    private static async Task<int> RunAsync(ISilenceStore store, Func<ISilenceStore, Task<int>> body)
    {
        try
        {
            return await body(store);
        }
        catch (ArgumentException e)
        {
            throw new SettingException(e.Message);
        }
        finally
        {
            (store as IDisposable)?.Dispose();
        }
    }

    /// <summary>The option behind a field <see cref="Silence.Check"/> names.</summary>
    private static string Option(string field, string endOption) => field switch
    {
        "starts_at" => "--starts",
        "ends_at" => endOption,
        "created_by" => "--by",
        _ => "--" + field,
    };

    private static DateTimeOffset Time(string flag, string value) =>
        EventTime.TryParse(value, out var ms) ? EventTime.ToDateTimeOffset(ms) : throw new SettingException($"{flag} '{value}': expected an ISO-8601 UTC time, a date or epoch ms");

    private static string Shown(string text) => OutsideText.ForDisplay(text);

    private static string Iso(DateTimeOffset time) => EventTime.ToIso(time.ToUnixTimeMilliseconds());
}
