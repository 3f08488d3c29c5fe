using Breadboard.Core.Model;
using Breadboard.Core.Pipeline.Indicators;
using Breadboard.Core.Pipeline.Rules;

namespace Breadboard.Core.Pipeline.Expressions;

/// <summary>
/// A checked <c>when</c> expression, compiled to instructions over a value stack: what an expression rule runs on
/// every closed bar of its window.
/// </summary>
/// <remarks>
/// <para>Every instruction runs on every bar (no short-circuit), because <c>prev</c>, <c>change_pct</c> and the
/// crossings must record each bar's value to answer on later bars.</para>
/// <para>Undefined is NaN: arithmetic carries it, a division by zero makes it, and a comparison or crossing with it is
/// false. Conditions are 1 (true) or 0 (false).</para>
/// </remarks>
public sealed class ExpressionProgram
{
    private readonly Instruction[] _code;
    private readonly int[] _ringOffset;
    private readonly int[] _ringCapacity;

    internal ExpressionProgram(string text, Instruction[] code, int[] ringCapacity, int maxStack, Comparison first)
    {
        Text = text;
        _code = code;
        _ringCapacity = ringCapacity;
        _ringOffset = new int[ringCapacity.Length];
        for (var b = 1; b < ringCapacity.Length; b++)
        {
            _ringOffset[b] = _ringOffset[b - 1] + ringCapacity[b - 1];
        }

        RingLength = ringCapacity.Sum();
        MaxStack = maxStack;
        First = first;
    }

    /// <summary>The expression as written.</summary>
    public string Text { get; }

    /// <summary>The first comparison or crossing: its operands are an alert's value and threshold.</summary>
    public Comparison First { get; }

    /// <summary>Past values it keeps per symbol: the lookbacks of its prev, change_pct and crossings.</summary>
    public int History => RingLength;

    internal int MaxStack { get; }

    internal int RingLength { get; }

    internal int Rings => _ringCapacity.Length;

    internal int RingCapacity(int ring) => _ringCapacity[ring];

    /// <summary>
    /// Evaluates the expression on one closed bar, recording what later bars need; <paramref name="value"/> and
    /// <paramref name="threshold"/> are the first comparison's operands on this bar (NaN where undefined).
    /// </summary>
    /// <param name="indicators">The symbol's indicator values after this bar, per slot of the pipeline's <see cref="IndicatorLayout"/>.</param>
    public bool Evaluate(Bar bar, ReadOnlySpan<double> indicators, ExpressionState state, out double value, out double threshold)
    {
        ArgumentNullException.ThrowIfNull(bar);
        ArgumentNullException.ThrowIfNull(state);
        var stack = state.Stack;
        var top = -1;
        value = threshold = double.NaN;
        foreach (ref readonly var i in _code.AsSpan())
        {
            switch (i.Op)
            {
                case OpCode.Number:
                    stack[++top] = i.Number;
                    break;
                case OpCode.Field:
                    stack[++top] = ((BarField)i.A).Of(bar);
                    break;
                case OpCode.Slot:
                    stack[++top] = indicators[i.A];
                    break;
                case OpCode.Negate:
                    stack[top] = -stack[top];
                    break;
                case OpCode.Not:
                    stack[top] = 1 - stack[top];
                    break;
                case OpCode.Prev:
                    stack[top] = Remember(state, i.A, stack[top]);
                    break;
                case OpCode.ChangePct:
                    var x = stack[top];
                    var before = Remember(state, i.A, x);
                    stack[top] = before == 0 ? double.NaN : (x - before) / before * 100;
                    break;
                default:
                    var right = stack[top--];
                    var left = stack[top];
                    stack[top] = Binary(i, state, left, right);
                    if (i.Capture)
                    {
                        value = left;
                        threshold = right;
                    }

                    break;
            }
        }

        return stack[0] != 0;
    }

    private double Binary(in Instruction i, ExpressionState state, double left, double right)
    {
        var defined = !double.IsNaN(left) && !double.IsNaN(right);
        switch (i.Op)
        {
            case OpCode.Add:
                return left + right;
            case OpCode.Subtract:
                return left - right;
            case OpCode.Multiply:
                return left * right;
            case OpCode.Divide:
                return right == 0 ? double.NaN : left / right;
            case OpCode.Less:
                return defined && left < right ? 1 : 0;
            case OpCode.LessOrEqual:
                return defined && left <= right ? 1 : 0;
            case OpCode.Greater:
                return defined && left > right ? 1 : 0;
            case OpCode.GreaterOrEqual:
                return defined && left >= right ? 1 : 0;
            case OpCode.Equal:
                return defined && left == right ? 1 : 0;
            case OpCode.NotEqual:
                return defined && left != right ? 1 : 0;
            case OpCode.And:
                return left != 0 && right != 0 ? 1 : 0;
            case OpCode.Or:
                return left != 0 || right != 0 ? 1 : 0;
            default:
                // A crossing: a > b on this bar and a <= b on the bar before (crosses_below mirrors it).
                var previousLeft = Remember(state, i.A, left);
                var previousRight = Remember(state, i.B, right);
                if (!defined || double.IsNaN(previousLeft) || double.IsNaN(previousRight))
                {
                    return 0;
                }

                return i.Op == OpCode.CrossAbove
                    ? (left > right && previousLeft <= previousRight ? 1 : 0)
                    : (left < right && previousLeft >= previousRight ? 1 : 0);
        }
    }

    /// <summary>Records <paramref name="x"/> in ring <paramref name="ring"/> and returns the value it held n bars ago (NaN before n bars).</summary>
    private double Remember(ExpressionState state, int ring, double x)
    {
        var capacity = _ringCapacity[ring];
        var slot = _ringOffset[ring] + state.Next[ring];
        var before = state.Count[ring] == capacity ? state.Ring[slot] : double.NaN;
        state.Ring[slot] = x;
        state.Next[ring] = (state.Next[ring] + 1) % capacity;
        if (state.Count[ring] < capacity)
        {
            state.Count[ring]++;
        }

        return before;
    }

    /// <summary>The values one ring holds, oldest first, for a checkpoint.</summary>
    internal IEnumerable<double> RingValues(ExpressionState state, int ring)
    {
        var capacity = _ringCapacity[ring];
        var count = state.Count[ring];
        var start = count < capacity ? 0 : state.Next[ring];
        for (var k = 0; k < count; k++)
        {
            yield return state.Ring[_ringOffset[ring] + ((start + k) % capacity)];
        }
    }

    /// <summary>Puts back a ring's values, oldest first, into a fresh state.</summary>
    internal void Restore(ExpressionState state, int ring, ReadOnlySpan<double> values)
    {
        foreach (var v in values)
        {
            Remember(state, ring, v);
        }
    }

    public override string ToString() => Text;
}

/// <summary>The first comparison or crossing of an expression, as written, and what its operands are measured in.</summary>
/// <param name="Left">The left operand's text, e.g. <c>rsi14</c>.</param>
/// <param name="Operator">The comparison (<c>&gt;</c>) or the crossing (<c>crosses_above</c>).</param>
/// <param name="Right">The right operand's text, e.g. <c>70</c>.</param>
public sealed record Comparison(string Left, string Operator, string Right, ValueUnit Unit);

/// <summary>What an expression rule keeps per symbol: the rings of <c>prev</c>/<c>change_pct</c>/crossings and the <c>for</c> run.</summary>
public sealed class ExpressionState : RuleState
{
    internal ExpressionState(ExpressionProgram program)
    {
        Program = program;
        Stack = new double[Math.Max(program.MaxStack, 1)];
        Ring = new double[program.RingLength];
        Next = new int[program.Rings];
        Count = new int[program.Rings];
    }

    internal ExpressionProgram Program { get; }

    internal double[] Stack { get; }

    internal double[] Ring { get; }

    internal int[] Next { get; }

    internal int[] Count { get; }

    /// <summary>Consecutive bars, up to <c>for</c>, on which the condition has held.</summary>
    internal int Run { get; set; }
}

internal enum OpCode : byte
{
    Number,
    Field,
    Slot,
    Negate,
    Not,
    Prev,
    ChangePct,
    Add,
    Subtract,
    Multiply,
    Divide,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Equal,
    NotEqual,
    And,
    Or,
    CrossAbove,
    CrossBelow,
}

/// <param name="A">The field, the slot, or a ring (prev, change_pct, a crossing's left operand).</param>
/// <param name="B">A crossing's right operand's ring.</param>
/// <param name="Capture">The first comparison or crossing: its operands become the alert's value and threshold.</param>
internal readonly record struct Instruction(OpCode Op, int A = 0, int B = 0, double Number = 0, bool Capture = false);
