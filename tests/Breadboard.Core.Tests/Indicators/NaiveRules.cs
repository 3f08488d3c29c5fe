using System.Globalization;
using Breadboard.Core.Model;
using Breadboard.Core.Pipeline.Indicators;

namespace Breadboard.Core.Tests.Indicators;

/// <summary>
/// A <c>when</c> expression as the property tests build it, evaluated the naive way: recursively at a bar index of
/// the symbol's whole bar list, looking back by index for prev and crossings, no state.
/// </summary>
public abstract record Expr
{
    /// <summary>The text the pipeline file would hold; every operation parenthesised.</summary>
    public abstract string Text { get; }

    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}

public sealed record Num(double Value) : Expr
{
    public override string Text => Number(Value);
}

/// <summary>A bar field or an indicator value.</summary>
public sealed record Ref(string Name) : Expr
{
    public override string Text => Name;
}

public sealed record Neg(Expr X) : Expr
{
    public override string Text => $"-({X.Text})";
}

public sealed record Arith(string Op, Expr L, Expr R) : Expr
{
    public override string Text => $"({L.Text} {Op} {R.Text})";
}

public sealed record Prev(Expr X, int N) : Expr
{
    public override string Text => $"prev({X.Text}, {N})";
}

public sealed record ChangePct(Expr X, int N) : Expr
{
    public override string Text => $"change_pct({X.Text}, {N})";
}

public sealed record Cmp(string Op, Expr L, Expr R) : Expr
{
    public override string Text => $"({L.Text} {Op} {R.Text})";
}

public sealed record Cross(bool Above, Expr A, Expr B) : Expr
{
    public override string Text => $"{(Above ? "crosses_above" : "crosses_below")}({A.Text}, {B.Text})";
}

public sealed record Logic(string Op, Expr L, Expr R) : Expr
{
    public override string Text => $"({L.Text} {Op} {R.Text})";
}

public sealed record Negation(Expr X) : Expr
{
    public override string Text => $"not ({X.Text})";
}

/// <summary>Evaluates <see cref="Expr"/>s over one symbol's bars of one window and its naive indicator series.</summary>
public sealed class NaiveRules(IReadOnlyList<Bar> bars, Dictionary<string, double[]> indicators)
{
    public double Number(Expr e, int i) => e switch
    {
        Num n => n.Value,
        Ref r when BarFields.TryParse(r.Name, out var field) => field.Of(bars[i]),
        Ref r => indicators[r.Name][i],
        Neg n => -Number(n.X, i),
        Arith { Op: "+" } a => Number(a.L, i) + Number(a.R, i),
        Arith { Op: "-" } a => Number(a.L, i) - Number(a.R, i),
        Arith { Op: "*" } a => Number(a.L, i) * Number(a.R, i),
        Arith a => Number(a.R, i) == 0 ? double.NaN : Number(a.L, i) / Number(a.R, i),
        Prev p => i - p.N >= 0 ? Number(p.X, i - p.N) : double.NaN,
        ChangePct c => Percent(Number(c.X, i), i - c.N >= 0 ? Number(c.X, i - c.N) : double.NaN),
        _ => throw new ArgumentException($"not a number: {e.Text}"),
    };

    public bool Holds(Expr e, int i) => e switch
    {
        Cmp c => Compare(c.Op, Number(c.L, i), Number(c.R, i)),
        Cross x => i >= 1 && Defined(Number(x.A, i), Number(x.B, i), Number(x.A, i - 1), Number(x.B, i - 1)) && (x.Above
            ? Number(x.A, i) > Number(x.B, i) && Number(x.A, i - 1) <= Number(x.B, i - 1)
            : Number(x.A, i) < Number(x.B, i) && Number(x.A, i - 1) >= Number(x.B, i - 1)),
        Logic { Op: "and" } l => Holds(l.L, i) & Holds(l.R, i),
        Logic l => Holds(l.L, i) | Holds(l.R, i),
        Negation n => !Holds(n.X, i),
        _ => throw new ArgumentException($"not a condition: {e.Text}"),
    };

    /// <summary>Whether a rule with <c>for: k</c> fires on bar i: the condition held on bars i−k+1..i and not on bar i−k (or there is none).</summary>
    public bool Fires(Expr e, int k, int i) =>
        i - k + 1 >= 0 && Enumerable.Range(i - k + 1, k).All(j => Holds(e, j)) && (i - k < 0 || !Holds(e, i - k));

    /// <summary>The operands of the first comparison or crossing, left to right, on bar i.</summary>
    public (double Value, double Threshold) Operands(Expr e, int i)
    {
        var first = First(e) ?? throw new ArgumentException($"no comparison in {e.Text}");
        return first switch
        {
            Cmp c => (Number(c.L, i), Number(c.R, i)),
            Cross x => (Number(x.A, i), Number(x.B, i)),
            _ => throw new InvalidOperationException(),
        };
    }

    private static Expr? First(Expr e) => e switch
    {
        Cmp or Cross => e,
        Logic l => First(l.L) ?? First(l.R),
        Negation n => First(n.X),
        _ => null,
    };

    private static double Percent(double x, double before) => before == 0 ? double.NaN : (x - before) / before * 100;

    private static bool Defined(params double[] values) => values.All(v => !double.IsNaN(v));

    private static bool Compare(string op, double l, double r) => !double.IsNaN(l) && !double.IsNaN(r) && op switch
    {
        "<" => l < r,
        "<=" => l <= r,
        ">" => l > r,
        ">=" => l >= r,
        "==" => l == r,
        _ => l != r,
    };
}
