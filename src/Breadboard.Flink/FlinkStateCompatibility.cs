using System.Globalization;
using System.Text.RegularExpressions;

namespace Breadboard.Flink;

/// <summary>Whether a job running one compiled script can be restarted from its savepoint with another.</summary>
/// <param name="Changes">What differs, one short phrase each (<c>window '1m' changed (bars_0)</c>); empty when nothing that holds state did.</param>
/// <param name="Reason">Why the changes rule out the savepoint, after the changes in a one-line message; null when compatible.</param>
/// <param name="Tolerated">Differences that keep the state (a rule's threshold, the checkpoint interval), for the report.</param>
public sealed record FlinkStateVerdict(IReadOnlyList<string> Changes, string? Reason, IReadOnlyList<string> Tolerated)
{
    public bool KeepsState => Changes.Count == 0;
}

/// <summary>
/// Compares two scripts of <see cref="FlinkSqlCompiler.CompileStatements"/> and decides whether the second can start
/// from a savepoint of the first with every operator's state where it was. Conservative: what is not known to keep
/// the state is refused.
/// </summary>
/// <remarks>
/// <para>Why only so little may change (Flink 1.20's sources): a job submitted as SQL, not from a compiled plan, gets
/// no operator uids from the planner (flink-table-api-java <c>ExecutionConfigOptions.TABLE_EXEC_UID_GENERATION</c>,
/// default <c>PLAN_ONLY</c>), so each operator's id is the hash flink-streaming-java <c>StreamGraphHasherV2</c>
/// computes from its breadth-first position in the stream graph, the number of operators chained to it and its
/// inputs' hashes, not from what it computes. Adding or removing any operator (a rule, a window, an indicator)
/// shifts the positions after it, the Kafka sinks' writers and committers included, and a savepoint whose
/// operator ids are missing is refused (flink-runtime <c>Checkpoints.loadAndValidateCheckpoint</c>: "Cannot map
/// checkpoint/savepoint state for operator … to the new program"). A changed operator at the same place keeps its id
/// and is handed the old state: a window of another size, a dedup or an OVER window of another length would restore
/// state built for the old definition. <c>COMPILE PLAN</c>/<c>EXECUTE PLAN</c> does not help here: its uids are
/// <c>&lt;id&gt;_&lt;transformation&gt;</c> (<c>table.exec.uid.format</c>) with the ExecNode's id from a counter
/// over the plan (flink-table-planner <c>ExecNodeContext</c>), so a changed query numbers its nodes anew; it keeps a
/// plan stable across Flink versions, not across query changes. Flink's own docs say the same of SQL: "Savepoints
/// are only supported if both the query and the Flink version remain constant" (docs/dev/table/concepts/overview.md,
/// Stateful Upgrades and Evolution).</para>
/// <para>What may change: the rule shell around a rule's value query (its name, threshold and comparison: a Calc
/// after the value query, one operator whatever the literal), the checkpoint interval, the source idle timeout, and
/// the parallelism up to the maximum parallelism Flink derived for the first job (flink-runtime
/// <c>KeyGroupRangeAssignment.computeDefaultMaxParallelism</c>: 128 for up to 85, as the savepoint's key groups
/// must cover the new subtasks). Every operator has the default parallelism, so the chaining the hashes depend on
/// does not change with it. Everything else must be the same text.</para>
/// </remarks>
public static partial class FlinkStateCompatibility
{
    private const string Moved = "adding or removing operators moves the operator ids Flink hashes from the job graph (StreamGraphHasherV2), so the savepoint's state no longer maps";
    private const string Stale = "the savepoint holds that state for the old definition, and Flink would hand it to the changed operator";

    /// <summary>Settings that hold no state and do not change the graph.</summary>
    private static readonly HashSet<string> FreeSettings = new(StringComparer.Ordinal)
    {
        "execution.checkpointing.interval",
        "table.exec.source.idle-timeout",
    };

    public static FlinkStateVerdict Check(IReadOnlyList<string> running, IReadOnlyList<string> next)
    {
        ArgumentNullException.ThrowIfNull(running);
        ArgumentNullException.ThrowIfNull(next);
        var before = running.Select(Parse).ToList();
        var after = next.Select(Parse).ToList();
        var changes = new List<string>();
        var tolerated = new List<string>();

        var beforeKeys = before.Select(s => s.Key).ToList();
        var afterKeys = after.Select(s => s.Key).ToList();
        var removed = before.Where(s => !afterKeys.Contains(s.Key)).ToList();
        var added = after.Where(s => !beforeKeys.Contains(s.Key)).ToList();
        if (removed.Count > 0 || added.Count > 0)
        {
            changes.AddRange(added.Select(s => $"{s.Label} added"));
            changes.AddRange(removed.Select(s => $"{s.Label} removed"));
            return new FlinkStateVerdict(changes, Moved, tolerated);
        }

        foreach (var old in before)
        {
            var now = after.First(s => s.Key == old.Key);
            if (old.Text == now.Text)
            {
                continue;
            }

            switch (old.Kind)
            {
                case Kind.Set when FreeSettings.Contains(old.Name):
                    tolerated.Add($"'{old.Name}' {old.Value} → {now.Value}");
                    break;
                case Kind.Set when old.Name == "parallelism.default" && Parallelism(old.Value, now.Value) is { } why:
                    if (why.Length == 0)
                    {
                        tolerated.Add($"parallelism {old.Value} → {now.Value}");
                    }
                    else
                    {
                        changes.Add(why);
                    }

                    break;
                case Kind.Alerts when Values(old.Text) is { } oldValues && oldValues == Values(now.Text):
                    tolerated.Add($"{now.Label}: name, threshold or comparison");
                    break;
                case Kind.Alerts:
                    changes.Add($"{now.Label} computes its value differently ({now.Name})");
                    break;
                default:
                    changes.Add(old.Kind switch
                    {
                        Kind.Set => $"setting '{old.Name}' changed",
                        _ => $"{now.Label} changed",
                    });
                    break;
            }
        }

        return new FlinkStateVerdict(changes, changes.Count == 0 ? null : Stale, tolerated);
    }

    /// <summary>
    /// The one line that refuses an upgrade: what changed (at most three), why that loses the state, and what to do.
    /// </summary>
    public static string Refusal(FlinkStateVerdict verdict)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        var shown = string.Join(", ", verdict.Changes.Take(3)) + (verdict.Changes.Count > 3 ? $" and {verdict.Changes.Count - 3} more" : "");
        return $"cannot upgrade with state: {shown}; {verdict.Reason} — stop the job with 'breadboard flink cancel' and deploy without --upgrade to start empty";
    }

    /// <summary>Empty when the new parallelism fits the first job's derived maximum, the change otherwise; null when not numbers.</summary>
    private static string? Parallelism(string? before, string? after)
    {
        if (!int.TryParse(before, NumberStyles.None, CultureInfo.InvariantCulture, out var old) || !int.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out var now) || old < 1)
        {
            return null;
        }

        // KeyGroupRangeAssignment.computeDefaultMaxParallelism: roundUpToPowerOfTwo(p + p / 2), at least 128, at most 32768.
        var max = Math.Clamp((int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(old + (old / 2))), 128, 32_768);
        return now <= max ? "" : $"parallelism {old} → {now}, above the maximum parallelism {max} the running job's key groups were cut for";
    }

    /// <summary>The value query of an alerts view: the lines inside the outermost <c>FROM ( … )</c>.</summary>
    private static string? Values(string text)
    {
        var lines = text.Split('\n');
        var from = Array.IndexOf(lines, "FROM (");
        var close = Array.FindLastIndex(lines, l => l.StartsWith(')'));
        return from < 0 || close <= from ? null : string.Join('\n', lines[(from + 1)..close]);
    }

    private enum Kind
    {
        Set,
        Table,
        View,
        Bars,
        Indicator,
        Alerts,
        StatementSet,
        Other,
    }

    private sealed record Statement(Kind Kind, string Name, string Text, string? Value, string Label)
    {
        public string Key => $"{Kind}:{Name}";
    }

    /// <summary>A statement of the compiler's script by its kind and name; comments are dropped from the text compared.</summary>
    private static Statement Parse(string statement)
    {
        var text = string.Join('\n', statement.ReplaceLineEndings("\n").Split('\n').Where(l => !l.TrimStart().StartsWith("--", StringComparison.Ordinal))).Trim();
        if (SetPattern().Match(text) is { Success: true } set)
        {
            var key = set.Groups["key"].Value;
            return new Statement(Kind.Set, key, text, set.Groups["value"].Value, $"setting '{key}'");
        }

        if (TablePattern().Match(text) is { Success: true } table)
        {
            var name = table.Groups["name"].Value;
            var what = name is FlinkSqlCompiler.StockTable or FlinkSqlCompiler.CryptoTable
                ? $"source table {name} (watermark, tick filter or Kafka options)"
                : $"sink table {name} (columns or Kafka options)";
            return new Statement(Kind.Table, name, text, null, what);
        }

        if (ViewPattern().Match(text) is { Success: true } view)
        {
            var name = view.Groups["name"].Value;
            var comment = Comment(statement);
            return name switch
            {
                "ticks_all" => new Statement(Kind.View, name, text, null, "the tick filter (ticks_all)"),
                "ticks" => new Statement(Kind.View, name, text, null, "deduplication (ticks)"),
                _ when name.StartsWith("bars_", StringComparison.Ordinal) => new Statement(Kind.Bars, name, text, null, $"{Quoted(comment, "window") ?? "window"} ({name})"),
                _ when name.StartsWith("indicators_", StringComparison.Ordinal) => new Statement(Kind.Indicator, name, text, null, $"{Quoted(comment, "indicator") ?? "indicator"} ({name})"),
                _ when name.StartsWith("alerts_", StringComparison.Ordinal) => new Statement(Kind.Alerts, name, text, null, Quoted(comment, "rule") ?? name),
                _ => new Statement(Kind.View, name, text, null, $"view {name}"),
            };
        }

        if (text.StartsWith("EXECUTE STATEMENT SET", StringComparison.OrdinalIgnoreCase))
        {
            // Each alert row carries the definition's digest, a constant of the projection (a stateless Calc,
            // chained in place): it changes with every rule change and holds no state, so it is not compared.
            return new Statement(Kind.StatementSet, "", DigestPattern().Replace(text, "${before}'…'${after}"), null, "the statement set");
        }

        return new Statement(Kind.Other, text, text, null, $"statement '{Gateway.FlinkGatewayException.Summarize(text)}'");
    }

    /// <summary>The compiler's comment line under a view's CREATE line (<c>-- window '1m': tumbling</c>).</summary>
    private static string Comment(string statement) =>
        statement.ReplaceLineEndings("\n").Split('\n').FirstOrDefault(l => l.StartsWith("-- ", StringComparison.Ordinal)) ?? "";

    /// <summary><c>window '1m'</c> out of the comment, when it names one.</summary>
    private static string? Quoted(string comment, string word) =>
        Regex.Match(comment, $@"\b{word} '(?:[^']|'')*'", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)) is { Success: true } m ? m.Value : null;

    [GeneratedRegex(@"^SET\s+'(?<key>(?:[^']|'')+)'\s*=\s*'(?<value>(?:[^']|'')*)'$", RegexOptions.CultureInvariant)]
    private static partial Regex SetPattern();

    [GeneratedRegex(@"(?<before>,\n  CAST\()'[0-9a-f]{16}'(?<after> AS STRING\)\nFROM alerts_)", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex DigestPattern();

    [GeneratedRegex(@"^CREATE\s+TABLE\s+(?<name>\w+)", RegexOptions.CultureInvariant)]
    private static partial Regex TablePattern();

    [GeneratedRegex(@"^CREATE\s+TEMPORARY\s+VIEW\s+(?<name>\w+)\s+AS", RegexOptions.CultureInvariant)]
    private static partial Regex ViewPattern();
}
