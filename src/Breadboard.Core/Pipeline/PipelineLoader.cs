using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Breadboard.Core.Pipeline.Indicators;
using Breadboard.Core.Pipeline.Rules;
using Breadboard.Core.Pipeline.Windows;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Breadboard.Core.Pipeline;

/// <summary>A pipeline file that cannot be used; each error names the file, the field and what is allowed.</summary>
public sealed class PipelineConfigException(IReadOnlyList<string> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}

/// <summary>Loads a <see cref="PipelineDefinition"/> from YAML or JSON text and validates it.</summary>
/// <remarks>
/// Every problem found is reported, not just the first, as <c>FILE: path.to.field: what is wrong</c>. Unknown
/// fields are errors, since a misspelt optional field would otherwise silently keep its default.
/// </remarks>
public static partial class PipelineLoader
{
    /// <summary>Largest pipeline text read: a real definition is a few kilobytes.</summary>
    public const int MaxTextLength = 1 << 20;

    public const int MaxWindows = 32;

    public const int MaxRules = 256;

    public const int MaxIndicators = 256;

    /// <summary>
    /// Most past values the pipeline may keep per symbol (indicator periods, prev/change_pct lookbacks, volume_surge
    /// lookbacks), so that a definition cannot make each symbol's state hundreds of megabytes.
    /// </summary>
    public const int MaxHistoryPerSymbol = 100_000;

    /// <summary>Largest window size or session gap (and so the furthest a window reaches past its tick).</summary>
    public const long MaxWindowMs = 366 * DayMs;

    /// <summary>Most windows one tick may belong to, over every window of the pipeline: each costs an update per tick.</summary>
    public const long MaxWindowsPerTick = 2_000;

    /// <summary>Largest out_of_orderness and dedup_horizon: open windows and remembered trade ids grow with them.</summary>
    public const long MaxToleranceMs = 7 * DayMs;

    /// <summary>Deepest nesting a YAML or JSON pipeline may have; a pipeline needs four levels.</summary>
    public const int MaxDepth = 32;

    /// <summary>Most YAML nodes a document may expand to, aliases counted each time they are used.</summary>
    public const int MaxNodes = 100_000;

    private const long DayMs = 86_400_000;

    private static readonly string[] TopFields = ["version", "out_of_orderness", "dedup_horizon", "future", "windows", "aggregates", "indicators", "rules"];

    private static readonly string[] FutureFields = ["clock_skew", "max_jump", "confirm"];

    /// <summary>Parses and validates; <paramref name="source"/> names the input in errors (a file path).</summary>
    /// <exception cref="PipelineConfigException">The text is not a valid pipeline definition.</exception>
    public static PipelineDefinition Parse(string text, string source) => Parse(text, source, RuleKinds.Builtin, WindowKinds.Builtin);

    /// <summary>As <see cref="Parse(string, string)"/>, with the rule and window types the file may name.</summary>
    /// <exception cref="PipelineConfigException">The text is not a valid pipeline definition.</exception>
    public static PipelineDefinition Parse(string text, string source, RuleKinds ruleKinds, WindowKinds windowKinds)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(ruleKinds);
        ArgumentNullException.ThrowIfNull(windowKinds);
        var errors = new Errors(source);
        if (text.Length > MaxTextLength)
        {
            errors.Add("(top)", $"the file is {text.Length:N0} characters long; a pipeline definition may have at most {MaxTextLength:N0}");
            throw new PipelineConfigException(errors.List);
        }

        var root = source.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? FromJson(text, errors) : FromYaml(text, errors);
        if (root is null && errors.List.Count > 0)
        {
            throw new PipelineConfigException(errors.List);
        }

        if (root is not Dictionary<string, object?> top)
        {
            errors.Add("(top)", "must be a mapping with windows, rules, out_of_orderness, dedup_horizon");
            throw new PipelineConfigException(errors.List);
        }

        CheckFields(top, TopFields, "", errors);
        if (top.TryGetValue("version", out var version) && Scalar(version) != "1")
        {
            errors.Add("version", "must be 1");
        }

        var defaults = PipelineDefinition.Default;
        var ooo = top.TryGetValue("out_of_orderness", out var o) ? Duration(o, "out_of_orderness", errors, allowZero: true, MaxToleranceMs) : defaults.OutOfOrdernessMs;
        var dedup = top.TryGetValue("dedup_horizon", out var d) ? Duration(d, "dedup_horizon", errors, allowZero: true, MaxToleranceMs) : defaults.DedupHorizonMs;
        var future = top.TryGetValue("future", out var f) ? Future(f, errors) : defaults.Future;
        var windows = top.TryGetValue("windows", out var w) ? Windows(w, windowKinds, errors) : [.. defaults.Windows];
        var aggregates = top.TryGetValue("aggregates", out var a) ? Aggregates(a, errors) : [.. defaults.Aggregates];
        var inError = new HashSet<string>(StringComparer.Ordinal);
        var indicators = top.TryGetValue("indicators", out var ind) ? Indicators(ind, windows, aggregates, inError, errors) : [];
        var layout = Layout(indicators, errors);
        var rules = top.TryGetValue("rules", out var r) ? Rules(r, windows, aggregates, layout, inError, ruleKinds, errors) : [];

        var history = indicators.Sum(i => (long)i.Period) + rules.Sum(r => (long)r.Lookback + (r.Settings is ExpressionSettings e ? e.Program.History : 0));
        if (history > MaxHistoryPerSymbol)
        {
            errors.Add("(top)", $"the indicators and rules keep {history:N0} past values per symbol (periods and lookbacks added up); at most {MaxHistoryPerSymbol:N0} are allowed");
        }

        if (errors.List.Count > 0)
        {
            throw new PipelineConfigException(errors.List);
        }

        return new PipelineDefinition
        {
            OutOfOrdernessMs = ooo,
            DedupHorizonMs = dedup,
            Future = future,
            Windows = windows,
            Aggregates = aggregates,
            Indicators = indicators,
            Rules = rules,
        };
    }

    /// <summary>Writes a definition as YAML that <see cref="Parse(string, string)"/> reads back to an equal definition.</summary>
    public static string ToYaml(PipelineDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var sb = new System.Text.StringBuilder();
        sb.AppendLine("version: 1");
        sb.AppendLine(CultureInfo.InvariantCulture, $"out_of_orderness: {FormatDuration(definition.OutOfOrdernessMs)}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"dedup_horizon: {FormatDuration(definition.DedupHorizonMs)}");
        sb.AppendLine("future:");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  clock_skew: {FormatDuration(definition.Future.ClockSkewMs)}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  max_jump: {FormatDuration(definition.Future.MaxJumpMs)}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  confirm: {definition.Future.Confirm}");
        sb.AppendLine("windows:");
        foreach (var w in definition.Windows)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  - name: \"{w.Name}\"");
            sb.AppendLine(CultureInfo.InvariantCulture, $"    type: {w.Kind.Name}");
            foreach (var (field, value) in w.Kind.YamlFields(w))
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"    {field}: {value}");
            }
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"aggregates: [{string.Join(", ", definition.Aggregates.Select(AggregateName))}]");
        if (definition.Indicators.Count > 0)
        {
            sb.AppendLine("indicators:");
            foreach (var i in definition.Indicators)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"  - name: {i.Name}");
                sb.AppendLine(CultureInfo.InvariantCulture, $"    window: \"{i.Window}\"");
                sb.AppendLine(CultureInfo.InvariantCulture, $"    type: {i.Kind.Name}");
                if (i.Of is not null)
                {
                    sb.AppendLine(CultureInfo.InvariantCulture, $"    of: {i.Of}");
                }

                sb.AppendLine(CultureInfo.InvariantCulture, $"    period: {i.Period}");
                if (i.Kind.TakesK)
                {
                    sb.AppendLine(CultureInfo.InvariantCulture, $"    k: {PipelineMapping.FormatNumber(i.K)}");
                }
            }
        }

        sb.AppendLine(definition.Rules.Count == 0 ? "rules: []" : "rules:");
        foreach (var r in definition.Rules)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  - name: {r.Name}");
            sb.AppendLine(CultureInfo.InvariantCulture, $"    window: \"{r.Window}\"");
            sb.AppendLine(CultureInfo.InvariantCulture, $"    type: {r.Kind.Name}");
            foreach (var (field, value) in r.Kind.YamlFields(r))
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"    {field}: {value}");
            }
        }

        return sb.ToString();
    }

    private static string AggregateName(Aggregate a) => a.ToString().ToLowerInvariant();

    private static string FormatDuration(long ms) => PipelineMapping.FormatDuration(ms);

    private static FutureGuard Future(object? node, Errors errors)
    {
        var defaults = FutureGuard.Default;
        if (node is not Dictionary<string, object?> map)
        {
            errors.Add("future", "must be a mapping with clock_skew, max_jump and confirm");
            return defaults;
        }

        CheckFields(map, FutureFields, "future", errors);
        var skew = map.TryGetValue("clock_skew", out var c) ? Duration(c, "future.clock_skew", errors, allowZero: true, 366 * DayMs) : defaults.ClockSkewMs;
        var jump = map.TryGetValue("max_jump", out var j) ? Duration(j, "future.max_jump", errors, allowZero: true, 3_660 * DayMs) : defaults.MaxJumpMs;
        var confirm = defaults.Confirm;
        if (map.ContainsKey("confirm"))
        {
            var value = Number(map, "confirm", "future", new Errors(""));
            if (value is < 2 or > 10_000 || value % 1 != 0)
            {
                errors.Add("future.confirm", $"must be a whole number of ticks from 2 to 10000 (got '{Shorten(Scalar(map["confirm"]))}')");
            }
            else
            {
                confirm = (int)value;
            }
        }

        return new FutureGuard(skew, jump, confirm);
    }

    private static List<WindowDefinition> Windows(object? node, WindowKinds kinds, Errors errors)
    {
        var result = new List<WindowDefinition>();
        if (node is not List<object?> items || items.Count == 0)
        {
            errors.Add("windows", "must be a non-empty list of windows");
            return result;
        }

        if (items.Count > MaxWindows)
        {
            errors.Add("windows", $"has {items.Count:N0} windows; a pipeline may have at most {MaxWindows}");
            return result;
        }

        for (var i = 0; i < items.Count; i++)
        {
            var path = $"windows[{i}]";
            if (items[i] is not Dictionary<string, object?> map)
            {
                errors.Add(path, "must be a mapping with name, type and size/slide/gap");
                continue;
            }

            var name = Name(map, path, errors);
            var type = map.TryGetValue("type", out var t) ? Scalar(t) : null;
            if (type is null)
            {
                errors.Add(path + ".type", $"is required: {kinds.Names}");
                continue;
            }

            if (kinds.Find(type) is not { } kind)
            {
                errors.Add(path + ".type", $"must be {kinds.Names} (got '{Shorten(type)}')");
                continue;
            }

            CheckFields(map, ["name", "type", .. kind.Fields], path, errors);
            result.Add(kind.Parse(new PipelineMapping(map, path, errors.Add, []), name ?? "?"));
        }

        foreach (var dup in result.GroupBy(w => w.Name).Where(g => g.Count() > 1))
        {
            errors.Add("windows", $"window name '{dup.Key}' is used more than once");
        }

        // A hopping window puts a tick in size / slide windows; each kind says.
        var perTick = result.Sum(w => w.Kind.WindowsPerTick(w));
        if (perTick > MaxWindowsPerTick)
        {
            errors.Add("windows", $"a tick would belong to {perTick:N0} windows; at most {MaxWindowsPerTick:N0} are allowed (make a hopping window's slide larger or its size smaller)");
        }

        return result;
    }

    private static List<Aggregate> Aggregates(object? node, Errors errors)
    {
        var result = new List<Aggregate>();
        if (node is not List<object?> items || items.Count == 0)
        {
            errors.Add("aggregates", "must be a non-empty list of: open, high, low, close, volume, vwap, trades");
            return result;
        }

        for (var i = 0; i < items.Count; i++)
        {
            var text = Scalar(items[i]);
            if (text is not null && Enum.TryParse<Aggregate>(text, ignoreCase: true, out var a) && text.All(char.IsLetter))
            {
                if (!result.Contains(a))
                {
                    result.Add(a);
                }
            }
            else
            {
                errors.Add($"aggregates[{i}]", $"must be one of open, high, low, close, volume, vwap, trades (got '{Shorten(text)}')");
            }
        }

        result.Sort();
        return result;
    }

    /// <param name="inError">Gets the names of the indicators left out for errors of their own, so that what names them says nothing more.</param>
    private static List<IndicatorDefinition> Indicators(object? node, List<WindowDefinition> windows, List<Aggregate> aggregates, HashSet<string> inError, Errors errors)
    {
        var result = new List<IndicatorDefinition>();
        if (node is not List<object?> items)
        {
            errors.Add("indicators", "must be a list of indicators");
            return result;
        }

        if (items.Count > MaxIndicators)
        {
            errors.Add("indicators", $"has {items.Count:N0} indicators; a pipeline may have at most {MaxIndicators}");
            return result;
        }

        var kinds = IndicatorKinds.Builtin;
        var defined = new Dictionary<string, (int Index, IndicatorDefinition Indicator)>(StringComparer.Ordinal);
        var all = new Dictionary<string, (int Index, string? Of)>(StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is Dictionary<string, object?> m && Scalar(m.GetValueOrDefault("name")) is { } n)
            {
                all.TryAdd(n, (i, Scalar(m.GetValueOrDefault("of"))));
            }
        }

        for (var i = 0; i < items.Count; i++)
        {
            var path = $"indicators[{i}]";
            if (items[i] is not Dictionary<string, object?> map)
            {
                errors.Add(path, "must be a mapping with name, window, type, of and period");
                continue;
            }

            var name = Name(map, path, errors);
            if (name is not null && (!RuleName().IsMatch(name) || char.IsAsciiDigit(name[0]) || BarFields.TryParse(name, out _) || name is "and" or "or" or "not"))
            {
                // Rules' conditions name indicators: a name must read as one there.
                errors.Add(path + ".name", $"must be lower-case letters, digits and underscores, not start with a digit, and not be a bar field or and/or/not (got '{Shorten(name)}')");
                name = null;
            }
            else if (name is not null && defined.ContainsKey(name))
            {
                errors.Add(path + ".name", $"indicator name '{name}' is used more than once");
                name = null;
            }

            var window = map.TryGetValue("window", out var wn) ? Scalar(wn) : null;
            if (window is null)
            {
                errors.Add(path + ".window", "is required: the name of one of the windows");
            }
            else if (!windows.Any(w => w.Name == window))
            {
                errors.Add(path + ".window", $"must name a defined window ({string.Join(", ", windows.Select(w => w.Name))}), got '{Shorten(window)}'");
                window = null;
            }

            var type = map.TryGetValue("type", out var t) ? Scalar(t) : null;
            if (type is null || kinds.Find(type) is not { } kind)
            {
                errors.Add(path + ".type", type is null ? $"is required: {kinds.Names}" : $"must be {kinds.Names} (got '{Shorten(type)}')");
                continue;
            }

            CheckFields(map, ["name", "window", "type", .. kind.Fields], path, errors);
            var mapping = new PipelineMapping(map, path, errors.Add, aggregates);
            var period = mapping.Number("period");
            if (period is < 1 or > IndicatorKind.MaxPeriod || period % 1 != 0)
            {
                if (IsNumber(mapping.Text("period")))
                {
                    mapping.Error("period", $"must be a whole number of bars from 1 to {IndicatorKind.MaxPeriod} (got '{Shorten(mapping.Text("period"))}')");
                }

                period = 1;
            }

            var k = 0.0;
            if (kind.TakesK)
            {
                k = mapping.Has("k") ? mapping.Number("k") : 2;
                if (k is <= 0 or > BollingerIndicator.MaxK && IsNumber(mapping.Text("k")))
                {
                    mapping.Error("k", $"must be a number of standard deviations above 0 and at most {BollingerIndicator.MaxK} (got '{Shorten(mapping.Text("k"))}')");
                }
            }

            foreach (var field in kind.Reads)
            {
                if (!aggregates.Contains(field.Aggregate()))
                {
                    mapping.Error(null, $"{kind.Name} reads {field.Name()}, which the pipeline does not emit; add it to aggregates");
                }
            }

            string? of = null;
            if (kind.TakesOf)
            {
                of = mapping.Text("of");
                of = Of(mapping, of, name, i, window, defined, all, aggregates) ? of : null;
            }

            if (name is null || window is null || (kind.TakesOf && of is null))
            {
                continue;
            }

            var indicator = new IndicatorDefinition(name, kind, window, of, (int)period, k);
            defined[name] = (i, indicator);
            result.Add(indicator);
        }

        inError.UnionWith(all.Keys.Where(n => !defined.ContainsKey(n)));
        return result;
    }

    /// <summary>Checks an indicator's <c>of</c>: a bar field the pipeline emits, or a value of an indicator defined before it over the same window.</summary>
    private static bool Of(
        PipelineMapping mapping,
        string? of,
        string? name,
        int index,
        string? window,
        Dictionary<string, (int Index, IndicatorDefinition Indicator)> defined,
        Dictionary<string, (int Index, string? Of)> all,
        List<Aggregate> aggregates)
    {
        if (of is null)
        {
            mapping.Error("of", $"{(mapping.Has("of") ? "must be one name, not a list or mapping" : "is required")}: a bar field ({string.Join(", ", BarFields.Names)}) or an indicator defined above");
            return false;
        }

        if (BarFields.TryParse(of, out var field))
        {
            if (!aggregates.Contains(field.Aggregate()))
            {
                mapping.Error("of", $"'{of}' is a bar field the pipeline does not emit; add it to aggregates");
                return false;
            }

            return true;
        }

        var dot = of.IndexOf('.', StringComparison.Ordinal);
        var baseName = dot < 0 ? of : of[..dot];
        if (defined.TryGetValue(baseName, out var source))
        {
            var names = source.Indicator.ValueNames().ToList();
            if (!names.Contains(of))
            {
                mapping.Error("of", $"'{Shorten(of)}' is not a value of indicator '{baseName}'; use {string.Join(", ", names)}");
                return false;
            }

            if (window is not null && source.Indicator.Window != window)
            {
                mapping.Error("of", $"'{Shorten(of)}' is computed over window '{source.Indicator.Window}'; this indicator's window is '{window}'");
                return false;
            }

            return true;
        }

        if (all.TryGetValue(baseName, out var later))
        {
            if (later.Index < index)
            {
                return false; // defined above, but left out for an error reported at its own path
            }

            // Follow the chain of of's from this indicator: coming back to it is a cycle. A cycle is one problem,
            // reported once, at its first member in the file; its other members say nothing more.
            var chain = new List<string> { name ?? "?" };
            var first = index;
            var next = of;
            while (next is not null && chain.Count <= all.Count)
            {
                var nextBase = next.Split('.')[0];
                if (nextBase == name)
                {
                    if (first == index)
                    {
                        chain.Add(nextBase);
                        mapping.Error("of", chain.Count == 2
                            ? $"'{Shorten(name)}' is computed over itself"
                            : $"indicators are computed over each other in a cycle: {string.Join(" \u2192 ", chain)}");
                    }

                    return false;
                }

                if (!all.TryGetValue(nextBase, out var step))
                {
                    break;
                }

                chain.Add(nextBase);
                first = Math.Min(first, step.Index);
                next = step.Of;
            }

            mapping.Error("of", $"'{Shorten(of)}' is used before it is defined (indicators[{later.Index}]); define an indicator before those computed over it");
            return false;
        }

        mapping.Error("of", $"unknown '{Shorten(of)}': not a bar field ({string.Join(", ", BarFields.Names)}) or an indicator defined above");
        return false;
    }

    private static bool IsNumber(string? text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value);

    private static IndicatorLayout Layout(List<IndicatorDefinition> indicators, Errors errors)
    {
        try
        {
            return indicators.Count == 0 ? IndicatorLayout.Empty : new IndicatorLayout(indicators);
        }
        catch (ArgumentException e)
        {
            errors.Add("indicators", e.Message); // the checks above should have caught it
            return IndicatorLayout.Empty;
        }
    }

    private static List<RuleDefinition> Rules(object? node, List<WindowDefinition> windows, List<Aggregate> aggregates, IndicatorLayout indicators, HashSet<string> indicatorsInError, RuleKinds kinds, Errors errors)
    {
        var result = new List<RuleDefinition>();
        if (node is not List<object?> items)
        {
            errors.Add("rules", "must be a list of rules");
            return result;
        }

        if (items.Count > MaxRules)
        {
            errors.Add("rules", $"has {items.Count:N0} rules; a pipeline may have at most {MaxRules}");
            return result;
        }

        for (var i = 0; i < items.Count; i++)
        {
            var path = $"rules[{i}]";
            if (items[i] is not Dictionary<string, object?> map)
            {
                errors.Add(path, "must be a mapping with name, type and window");
                continue;
            }

            var name = Name(map, path, errors);
            if (name is not null && !RuleName().IsMatch(name))
            {
                // Rule names become NATS subjects (alerts.<rule>) and Flink column values.
                errors.Add(path + ".name", $"must be lower-case letters, digits and underscores (got '{Shorten(name)}')");
            }

            var window = map.TryGetValue("window", out var wn) ? Scalar(wn) : null;
            var windowInError = true;
            if (window is null)
            {
                errors.Add(path + ".window", "is required: the name of one of the windows");
            }
            else if (!windows.Any(w => w.Name == window))
            {
                errors.Add(path + ".window", $"must name a defined window ({string.Join(", ", windows.Select(w => w.Name))}), got '{Shorten(window)}'");
            }
            else
            {
                windowInError = false;
            }

            // A rule with a condition needs no type: it is an expression rule.
            var type = map.TryGetValue("type", out var t) ? Scalar(t) : map.ContainsKey("when") ? ExpressionRule.Instance.Name : null;
            if (type is null)
            {
                errors.Add(path + ".type", $"is required: {kinds.Names}; or give a condition in 'when'");
                continue;
            }

            if (kinds.Find(type) is not { } kind)
            {
                errors.Add(path + ".type", $"must be {kinds.Names} (got '{Shorten(type)}')");
                continue;
            }

            CheckFields(map, ["name", "type", "window", .. kind.Fields], path, errors);
            var mapping = new PipelineMapping(map, path, errors.Add, aggregates, indicators)
            {
                WindowInError = windowInError,
                IndicatorsInError = indicatorsInError,
            };
            result.Add(kind.Parse(mapping, name ?? "?", window ?? "?"));
        }

        foreach (var dup in result.GroupBy(r => r.Name).Where(g => g.Count() > 1))
        {
            errors.Add("rules", $"rule name '{dup.Key}' is used more than once");
        }

        return result;
    }

    private static string? Name(Dictionary<string, object?> map, string path, Errors errors)
    {
        var name = map.TryGetValue("name", out var n) ? Scalar(n) : null;
        if (string.IsNullOrWhiteSpace(name))
        {
            errors.Add(path + ".name", "is required");
            return null;
        }

        if (!WindowName().IsMatch(name))
        {
            errors.Add(path + ".name", $"must be 1-32 letters, digits, '_' or '-' (got '{Shorten(name)}')");
        }

        return name;
    }

    private static long Duration(object? node, string path, Errors errors, bool allowZero, long max) =>
        Duration(node, path, errors.Add, allowZero, max);

    internal static long Duration(object? node, string path, Action<string, string> error, bool allowZero, long max)
    {
        var text = Scalar(node);
        if (!DurationText.TryParse(text, out var ms))
        {
            error(path, $"must be a duration like 60s, 5m, 500ms or 1h (got '{Shorten(text) ?? "a list or mapping"}')");
            return 0;
        }

        if (ms == 0 && !allowZero)
        {
            error(path, "must be greater than zero");
        }
        else if (ms > max)
        {
            error(path, $"must be at most {DurationText.Format(max)} (got {text})");
            return 0;
        }

        return ms;
    }

    /// <summary>A value quoted in an error: one line without control characters, cut so that a huge scalar cannot make a huge message.</summary>
    private static string? Shorten(string? text) => text is null ? null : Seams.OutsideText.ForDisplay(text, 64);

    private static double Number(Dictionary<string, object?> map, string field, string path, Errors errors)
    {
        var text = map.TryGetValue(field, out var node) ? Scalar(node) : null;
        if (text is null)
        {
            errors.Add($"{path}.{field}", "is required: a number");
            return 0;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            errors.Add($"{path}.{field}", $"must be a number (got '{Shorten(text)}')");
            return 0;
        }

        return value;
    }

    private static void CheckFields(Dictionary<string, object?> map, string[] allowed, string path, Errors errors)
    {
        foreach (var key in map.Keys)
        {
            if (!allowed.Contains(key))
            {
                var at = path.Length == 0 ? key : $"{path}.{key}";
                errors.Add(at, $"unknown field; allowed here: {string.Join(", ", allowed)}");
            }
        }
    }

    private static string? Scalar(object? node) => node as string;

    [GeneratedRegex("^[A-Za-z0-9_-]{1,32}$")]
    private static partial Regex WindowName();

    [GeneratedRegex("^[a-z0-9_]{1,32}$")]
    private static partial Regex RuleName();

    private static object? FromYaml(string text, Errors errors)
    {
        try
        {
            if (!WithinBounds(text, errors))
            {
                return null;
            }

            var stream = new YamlStream();
            stream.Load(new StringReader(text));
            if (stream.Documents.Count == 0)
            {
                errors.Add("(top)", "the file is empty");
                return null;
            }

            return Convert(stream.Documents[0].RootNode);
        }
        catch (YamlException e)
        {
            errors.Add($"line {e.Start.Line}", "not valid YAML: " + e.Message);
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet throws these too on some malformed input (found by fuzzing: "...\r", "!!A!!![]", a NUL as
            // a key); they carry no position.
            errors.Add("(top)", "not valid YAML: " + e.Message);
            return null;
        }
    }

    /// <summary>
    /// Reads the document's events once, without building it, and refuses one nested deeper than
    /// <see cref="MaxDepth"/> or expanding to more than <see cref="MaxNodes"/> nodes: an alias stands for its
    /// anchor's whole subtree each time it is used, so nine levels of ten aliases ("billion laughs") expand to a
    /// billion nodes from a few hundred bytes.
    /// </summary>
    private static bool WithinBounds(string text, Errors errors)
    {
        var parser = new Parser(new StringReader(text));
        var anchors = new Dictionary<string, long>(StringComparer.Ordinal);
        var open = new Stack<(string? Anchor, long Nodes)>();
        long total = 0;
        while (parser.MoveNext())
        {
            var e = parser.Current!;
            long completed;
            string? anchor;
            switch (e)
            {
                case SequenceStart or MappingStart:
                    if (open.Count == MaxDepth)
                    {
                        errors.Add($"line {e.Start.Line}", $"nested deeper than {MaxDepth} levels; a pipeline needs four");
                        return false;
                    }

                    open.Push((((NodeEvent)e).Anchor.IsEmpty ? null : ((NodeEvent)e).Anchor.Value, 1));
                    continue;
                case SequenceEnd or MappingEnd:
                    (anchor, completed) = open.Pop();
                    break;
                case Scalar scalar:
                    (anchor, completed) = (scalar.Anchor.IsEmpty ? null : scalar.Anchor.Value, 1);
                    break;
                case AnchorAlias alias:
                    // YAML lets an alias name only a node completed before it. YamlDotNet also resolves one naming a
                    // later node or an enclosing one, and such a cycle overflowed the stack when the alias was a
                    // mapping key ("&-\n*x :\n&x :", found by fuzzing): a crash no catch can stop.
                    if (!anchors.TryGetValue(alias.Value.Value, out completed))
                    {
                        errors.Add($"line {e.Start.Line}", $"alias *{Shorten(alias.Value.Value)} names no anchor before it");
                        return false;
                    }

                    anchor = null;
                    break;
                default:
                    continue;
            }

            if (anchor is not null)
            {
                anchors[anchor] = completed;
            }

            // A node's count includes its children's, so only roots add to the total.
            if (open.Count > 0)
            {
                var (parentAnchor, nodes) = open.Pop();
                open.Push((parentAnchor, nodes + completed));
            }
            else
            {
                total += completed;
            }

            if (total > MaxNodes || (open.Count > 0 && open.Peek().Nodes > MaxNodes))
            {
                errors.Add($"line {e.Start.Line}", $"the document expands to more than {MaxNodes:N0} nodes (YAML aliases count each time they are used); a pipeline needs a few hundred");
                return false;
            }
        }

        return true;
    }

    // A document becomes a tree of string scalars, List<object?> sequences and Dictionary<string, object?> mappings.
    private static object? Convert(YamlNode node) => node switch
    {
        YamlScalarNode s => s.Value ?? string.Empty,
        YamlSequenceNode seq => seq.Children.Select(Convert).ToList(),
        YamlMappingNode map => map.Children
            .GroupBy(kv => (kv.Key as YamlScalarNode)?.Value ?? string.Empty)
            .ToDictionary(g => g.Key, g => Convert(g.Last().Value)),
        _ => null,
    };

    private static object? FromJson(string text, Errors errors)
    {
        try
        {
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            return Convert(doc.RootElement);
        }
        catch (JsonException e)
        {
            errors.Add($"line {(e.LineNumber ?? 0) + 1}", "not valid JSON: " + e.Message);
            return null;
        }
        catch (InvalidOperationException e)
        {
            // JsonDocument leaves strings unvalidated until they are read: a lone surrogate escape ("\ud800") throws
            // this from GetString or a property's name (found by fuzzing).
            errors.Add("(top)", "not valid JSON: " + e.Message);
            return null;
        }
    }

    private static object? Convert(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().GroupBy(p => p.Name).ToDictionary(g => g.Key, g => Convert(g.Last().Value)),
        JsonValueKind.Array => e.EnumerateArray().Select(Convert).ToList(),
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => e.GetRawText(),
        _ => null,
    };

    private sealed class Errors(string source)
    {
        public List<string> List { get; } = [];

        public void Add(string path, string message) => List.Add($"{source}: {path}: {message}");
    }
}
