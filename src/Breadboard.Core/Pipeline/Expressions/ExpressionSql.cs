using System.Globalization;
using Breadboard.Core.Pipeline.Indicators;
using Breadboard.Core.Pipeline.Rules;

namespace Breadboard.Core.Pipeline.Expressions;

/// <summary>
/// An expression rule as SQL over its window's bars and indicators, for the Flink compiler: what
/// <see cref="ExpressionProgram"/> and <see cref="ExpressionRule.Evaluate"/> compute, bar for bar.
/// </summary>
/// <remarks>
/// <para>Undefined is NULL where the program has NaN, with the same effects: arithmetic carries it, a division by
/// zero makes it (<c>NULLIF</c>), and every comparison and crossing is <c>COALESCE</c>d to FALSE, so that
/// <c>not</c>, <c>and</c> and <c>or</c> see what the program sees (a comparison with an undefined operand is false,
/// and its negation true), never SQL's unknown. Numbers are DOUBLE literals and <c>trades</c> is read as a
/// DOUBLE, so every division divides doubles, in the program's order of operations.</para>
/// <para><c>prev</c>, <c>change_pct</c> and the crossings read <c>LAG</c> over every bar of the symbol's window, in
/// an OVER window from its first bar: Flink's LAG cannot retract (flink-table-planner
/// <c>AggFunctionFactory.createStreamLeadLagAggFunction</c>), and all aggregates of one SELECT share one window
/// (<c>StreamPhysicalOverAggregateRule</c>), so a LAG over an expression holding another LAG is computed one
/// level above it. The rule fires where the run of bars on which the condition holds reaches <c>for</c> (1 by
/// default: a condition that holds on several bars in a row fires on the first): the bar's position among the
/// symbol's bars minus the position of the last bar on which it did not hold.</para>
/// </remarks>
internal sealed class ExpressionSql
{
    private const string Window = "WINDOW w AS (PARTITION BY `symbol` ORDER BY `window_time` ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)";

    /// <summary>The LAG columns of each prev, change_pct and crossing node (a crossing has two: a's and b's).</summary>
    private readonly Dictionary<Syntax, string[]> _lags = new(ReferenceEqualityComparer.Instance);

    /// <summary>Per level, the LAG columns computed there: level d holds the LAGs of arguments that read d levels below.</summary>
    private readonly List<List<string>> _levels = [];

    private int _columns;

    private ExpressionSql()
    {
    }

    /// <summary>The rule's SQL over <paramref name="bars"/>: a SELECT of the bars on which it fires, with their value and threshold.</summary>
    public static RuleSql Compile(ExpressionSettings settings, string bars, string description)
    {
        var syntax = ExpressionParser.Parse(settings.When);
        var sql = new ExpressionSql();
        sql.Visit(syntax);
        var condition = sql.Render(syntax);
        var (left, right) = First(syntax) ?? throw new ArgumentException($"'{settings.When}' has no comparison or crossing", nameof(settings));
        var from = bars;
        for (var level = 0; level < Math.Max(sql._levels.Count, 1); level++)
        {
            var columns = level < sql._levels.Count ? sql._levels[level] : [];
            if (level == 0)
            {
                columns = [.. columns, "COUNT(*) OVER w AS `#n`"];
            }

            from = SqlText.Subquery($"SELECT *,\n  {string.Join(",\n  ", columns)}\nFROM {from}\n{Window}");
        }

        var bar = "`symbol`, `window_start`, `window_end`";
        from = SqlText.Subquery(
            $"SELECT {bar}, `window_time`, `#n`,\n" +
            $"  {condition} AS `#when`,\n" +
            $"  {sql.Render(left)} AS `value`,\n" +
            $"  {sql.Render(right)} AS `threshold`\n" +
            $"FROM {from}");
        from = SqlText.Subquery($"SELECT *,\n  MAX(CASE WHEN NOT `#when` THEN `#n` END) OVER w AS `#last_false`\nFROM {from}\n{Window}");
        var fires = string.Create(CultureInfo.InvariantCulture, $"`#when` AND `#n` - COALESCE(`#last_false`, 0) = {settings.For}");
        return new RuleSql(description, $"SELECT {bar}, `value`, `threshold`\nFROM {from}\nWHERE {fires}", null) { Threshold = "`threshold`" };
    }

    /// <summary>The indicator values <paramref name="when"/> names, in the order it first names them.</summary>
    public static IReadOnlyList<string> IndicatorValues(string when)
    {
        var names = new List<string>();
        Names(ExpressionParser.Parse(when), names);
        return names;
    }

    private static void Names(Syntax syntax, List<string> names)
    {
        switch (syntax)
        {
            case NameSyntax n when !BarFields.TryParse(n.Name, out _) && !names.Contains(n.Name):
                names.Add(n.Name);
                break;
            case UnarySyntax u:
                Names(u.Operand, names);
                break;
            case BinarySyntax b:
                Names(b.Left, names);
                Names(b.Right, names);
                break;
            case CallSyntax c:
                foreach (var a in c.Arguments)
                {
                    Names(a, names);
                }

                break;
        }
    }

    /// <summary>The operands of the first comparison or crossing in the text: the alert's value and threshold.</summary>
    private static (Syntax Left, Syntax Right)? First(Syntax syntax) => syntax switch
    {
        BinarySyntax { Op: "<" or "<=" or ">" or ">=" or "==" or "!=" } b => (b.Left, b.Right),
        CallSyntax { Function: "crosses_above" or "crosses_below" } c => (c.Arguments[0], c.Arguments[1]),
        BinarySyntax b => First(b.Left) ?? First(b.Right),
        UnarySyntax u => First(u.Operand),
        _ => null,
    };

    /// <summary>Gives every prev, change_pct and crossing its LAG columns, inner ones first; returns how many levels of LAG the node reads.</summary>
    private int Visit(Syntax syntax)
    {
        switch (syntax)
        {
            case UnarySyntax u:
                return Visit(u.Operand);
            case BinarySyntax b:
                return Math.Max(Visit(b.Left), Visit(b.Right));
            case CallSyntax { Function: "prev" or "change_pct" } c:
                var depth = Visit(c.Arguments[0]);
                var n = (int)((NumberSyntax)c.Arguments[1]).Value;
                _lags[c] = [Lag(depth, c.Arguments[0], n)];
                return depth + 1;
            case CallSyntax c:
                var level = Math.Max(Visit(c.Arguments[0]), Visit(c.Arguments[1]));
                _lags[c] = [Lag(level, c.Arguments[0], 1), Lag(level, c.Arguments[1], 1)];
                return level + 1;
            default:
                return 0;
        }
    }

    private string Lag(int level, Syntax argument, int n)
    {
        while (_levels.Count <= level)
        {
            _levels.Add([]);
        }

        var column = string.Create(CultureInfo.InvariantCulture, $"`#lag{++_columns}`");
        _levels[level].Add(string.Create(CultureInfo.InvariantCulture, $"LAG({Render(argument)}, {n}) OVER w AS {column}"));
        return column;
    }

    private string Render(Syntax syntax) => syntax switch
    {
        NumberSyntax n => SqlText.Number(n.Value),
        NameSyntax name when BarFields.TryParse(name.Name, out var field) => SqlText.Field(field),
        NameSyntax name => SqlText.Indicator(name.Name),
        UnarySyntax { Op: "-" } u => $"(- {Render(u.Operand)})",
        UnarySyntax u => $"(NOT {Render(u.Operand)})",
        BinarySyntax { Op: "and" or "or" } b => $"({Render(b.Left)} {b.Op.ToUpperInvariant()} {Render(b.Right)})",
        BinarySyntax { Op: "/", Right: NumberSyntax { Value: not 0 } } b => $"({Render(b.Left)} / {Render(b.Right)})",
        BinarySyntax { Op: "/" } b => $"({Render(b.Left)} / NULLIF({Render(b.Right)}, 0E0))",
        BinarySyntax { Op: "+" or "-" or "*" } b => $"({Render(b.Left)} {b.Op} {Render(b.Right)})",
        BinarySyntax b => $"COALESCE({Render(b.Left)} {Comparison(b.Op)} {Render(b.Right)}, FALSE)",
        CallSyntax { Function: "prev" } c => _lags[c][0],
        CallSyntax { Function: "change_pct" } c => ChangePct(Render(c.Arguments[0]), _lags[c][0]),
        CallSyntax c => Crossing(c),
        _ => throw new ArgumentException($"cannot render {syntax}", nameof(syntax)),
    };

    // The program's (x − before) / before · 100, undefined when before is 0 or undefined.
    private static string ChangePct(string x, string before) => $"(({x} - {before}) / NULLIF({before}, 0E0) * 100E0)";

    // a > b on this bar and a <= b on the bar before, all four defined (crosses_below mirrors it).
    private string Crossing(CallSyntax c)
    {
        var (now, before) = c.Function == "crosses_above" ? (">", "<=") : ("<", ">=");
        var lags = _lags[c];
        return $"COALESCE({Render(c.Arguments[0])} {now} {Render(c.Arguments[1])} AND {lags[0]} {before} {lags[1]}, FALSE)";
    }

    private static string Comparison(string op) => op switch
    {
        "==" => "=",
        "!=" => "<>",
        _ => op,
    };
}
