using System.Globalization;
using Breadboard.Core.Pipeline.Indicators;

namespace Breadboard.Core.Pipeline.Expressions;

/// <summary>
/// Checks a <c>when</c> expression against the pipeline (its bar fields, the indicators of the rule's window) and
/// compiles it to an <see cref="ExpressionProgram"/>, reporting every problem with its column.
/// </summary>
public sealed class ExpressionCompiler
{
    /// <summary>Largest n of <c>prev</c> and <c>change_pct</c>: the state keeps that many values per symbol.</summary>
    public const int MaxLookback = 10_000;

    private static readonly string[] Functions = ["prev", "change_pct", "crosses_above", "crosses_below"];

    private readonly IndicatorLayout _indicators;
    private readonly string? _window;
    private readonly IReadOnlyList<Aggregate> _aggregates;
    private readonly IReadOnlySet<string> _inError;
    private readonly Action<int, string> _error;
    private readonly List<Instruction> _code = [];
    private readonly List<int> _rings = [];
    private int _depth;
    private int _maxDepth;
    private Comparison? _first;
    private bool _namesIndicatorInError;

    private ExpressionCompiler(IndicatorLayout indicators, string? window, IReadOnlyList<Aggregate> aggregates, IReadOnlySet<string> inError, Action<int, string> error)
    {
        _indicators = indicators;
        _window = window;
        _aggregates = aggregates;
        _inError = inError;
        _error = error;
    }

    /// <summary>Compiles <paramref name="text"/>; each problem goes to <paramref name="error"/> as (column, message), and then the result is null.</summary>
    /// <param name="window">
    /// The rule's window: the indicators it names must be of this window. Null when the rule's window is itself in
    /// error (reported elsewhere): the indicators' windows are then not checked.
    /// </param>
    /// <param name="aggregates">The bar columns the pipeline emits; the bar fields it names must be among them.</param>
    /// <param name="indicatorsInError">
    /// Indicators the file defines but that were left out for errors of their own: naming one is not reported again,
    /// and the result is null.
    /// </param>
    public static ExpressionProgram? Compile(string text, IndicatorLayout indicators, string? window, IReadOnlyList<Aggregate> aggregates, Action<int, string> error, IReadOnlySet<string>? indicatorsInError = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(indicators);
        ArgumentNullException.ThrowIfNull(aggregates);
        ArgumentNullException.ThrowIfNull(error);
        Syntax syntax;
        try
        {
            syntax = ExpressionParser.Parse(text);
        }
        catch (ExpressionSyntaxException e)
        {
            error(e.Column, e.Message);
            return null;
        }

        var errors = 0;
        var compiler = new ExpressionCompiler(indicators, window, aggregates, indicatorsInError ?? new HashSet<string>(), (column, message) =>
        {
            errors++;
            error(column, message);
        });
        var type = compiler.Emit(syntax);
        if (type.Kind == Kind.Number)
        {
            compiler._error(Start(syntax), "the expression must be a condition (a comparison, a crossing, or them joined with and/or/not), not a number");
        }

        return errors > 0 || compiler._namesIndicatorInError || compiler._first is null
            ? null
            : new ExpressionProgram(text, [.. compiler._code], [.. compiler._rings], compiler._maxDepth, compiler._first);
    }

    /// <summary>As <see cref="Compile(string, IndicatorLayout, string, IReadOnlyList{Aggregate}, Action{int, string}, IReadOnlySet{string})"/>, for code that builds definitions itself.</summary>
    /// <exception cref="ArgumentException">The expression has problems; the message lists them with their columns.</exception>
    public static ExpressionProgram Compile(string text, IndicatorLayout indicators, string window, IReadOnlyList<Aggregate> aggregates)
    {
        var problems = new List<string>();
        return Compile(text, indicators, window, aggregates, (column, message) => problems.Add($"column {column}: {message}"))
            ?? throw new ArgumentException($"'{text}': {string.Join("; ", problems)}", nameof(text));
    }

    private enum Kind
    {
        Number,
        Condition,

        /// <summary>Already reported: checks above it say nothing more.</summary>
        Error,
    }

    private readonly record struct Typed(Kind Kind, ValueUnit Unit, bool Literal);

    private Typed Emit(Syntax syntax)
    {
        switch (syntax)
        {
            case NumberSyntax n:
                Push(new Instruction(OpCode.Number, Number: n.Value));
                return new(Kind.Number, ValueUnit.Number, Literal: true);
            case NameSyntax name:
                return Name(name);
            case UnarySyntax { Op: "-" } u:
                var operand = Emit(u.Operand);
                ExpectNumber(operand, u.Operand, "'-'");
                _code.Add(new Instruction(OpCode.Negate));
                return operand with { Kind = Number(operand) };
            case UnarySyntax u:
                var condition = Emit(u.Operand);
                ExpectCondition(condition, u.Operand, "'not'");
                _code.Add(new Instruction(OpCode.Not));
                return new(Condition(condition), ValueUnit.Number, false);
            case BinarySyntax b:
                return Binary(b);
            default:
                return Call((CallSyntax)syntax);
        }
    }

    private Typed Name(NameSyntax name)
    {
        if (BarFields.TryParse(name.Name, out var field))
        {
            if (!_aggregates.Contains(field.Aggregate()))
            {
                _error(name.Column, $"'{name.Name}' is a bar field the pipeline does not emit; add it to aggregates");
            }

            Push(new Instruction(OpCode.Field, A: (int)field));
            return new(Kind.Number, field.Unit(), false);
        }

        Push(new Instruction(OpCode.Slot));
        if (_indicators.TryFind(name.Name, out var slot))
        {
            var owner = _indicators.OwnerOf(slot);
            if (_window is not null && owner.Window != _window)
            {
                _error(name.Column, $"'{name.Name}' is computed over window '{owner.Window}'; this rule's window is '{_window}'");
                return new(Kind.Error, ValueUnit.Number, false);
            }

            _code[^1] = new Instruction(OpCode.Slot, A: slot);
            return new(Kind.Number, _indicators.Unit(slot), false);
        }

        var dot = name.Name.IndexOf('.', StringComparison.Ordinal);
        var baseName = dot < 0 ? name.Name : name.Name[..dot];
        if (_inError.Contains(baseName))
        {
            _namesIndicatorInError = true; // its own error says what is wrong
            return new(Kind.Error, ValueUnit.Number, false);
        }

        var band = _indicators.Indicators.FirstOrDefault(i => i.Name == baseName && i.Kind.Outputs.Count > 1);
        if (band is not null)
        {
            _error(name.Column, $"'{baseName}' is a {band.Kind.Name} indicator: name one of its values, {string.Join(", ", band.ValueNames())}");
        }
        else if (Array.IndexOf(Functions, name.Name) >= 0)
        {
            _error(name.Column, $"'{name.Name}' is a function: write {name.Name}(...)");
        }
        else
        {
            var known = _indicators.Indicators.Where(i => _window is null || i.Window == _window).SelectMany(i => i.ValueNames()).ToList();
            _error(name.Column, $"unknown name '{Quote(name.Name)}': not a bar field ({string.Join(", ", BarFields.Names)}) or an indicator" + (_window is null ? "" : $" of window '{_window}'") +
                (known.Count == 0 ? " (it has none)" : $" ({string.Join(", ", known)})"));
        }

        return new(Kind.Error, ValueUnit.Number, false);
    }

    private Typed Binary(BinarySyntax b)
    {
        var left = Emit(b.Left);
        var right = Emit(b.Right);
        switch (b.Op)
        {
            case "and" or "or":
                ExpectCondition(left, b.Left, $"'{b.Op}'");
                ExpectCondition(right, b.Right, $"'{b.Op}'");
                _code.Add(new Instruction(b.Op == "and" ? OpCode.And : OpCode.Or));
                _depth--;
                return new(left.Kind == Kind.Error || right.Kind == Kind.Error ? Kind.Error : Kind.Condition, ValueUnit.Number, false);
            case "+" or "-" or "*" or "/":
                ExpectNumber(left, b.Left, $"'{b.Op}'");
                ExpectNumber(right, b.Right, $"'{b.Op}'");
                var op = b.Op switch { "+" => OpCode.Add, "-" => OpCode.Subtract, "*" => OpCode.Multiply, _ => OpCode.Divide };
                _code.Add(new Instruction(op));
                _depth--;
                return new(Number(left, right), ArithmeticUnit(b.Op, left, right), left.Literal && right.Literal);
            default:
                ExpectNumber(left, b.Left, $"'{b.Op}'");
                ExpectNumber(right, b.Right, $"'{b.Op}'");
                var cmp = b.Op switch
                {
                    "<" => OpCode.Less,
                    "<=" => OpCode.LessOrEqual,
                    ">" => OpCode.Greater,
                    ">=" => OpCode.GreaterOrEqual,
                    "==" => OpCode.Equal,
                    _ => OpCode.NotEqual,
                };
                _code.Add(new Instruction(cmp, Capture: Capture(b.Left, b.Op, b.Right, left, right)));
                _depth--;
                return new(Condition(left, right), ValueUnit.Number, false);
        }
    }

    private Typed Call(CallSyntax call)
    {
        var function = call.Function;
        switch (function)
        {
            case "prev" or "change_pct":
                if (call.Arguments.Count != 2)
                {
                    _error(call.Column, $"{function} takes 2 arguments, (x, n), got {call.Arguments.Count}");
                    PushError(call.Arguments);
                    return new(Kind.Error, ValueUnit.Number, false);
                }

                var x = Emit(call.Arguments[0]);
                ExpectNumber(x, call.Arguments[0], function);
                var n = call.Arguments[1] is NumberSyntax { Value: >= 1 and <= MaxLookback } count && count.Value % 1 == 0 ? (int)count.Value : 0;
                if (n == 0)
                {
                    _error(call.Arguments[1].Column, $"{function}'s n must be a whole number of bars from 1 to {MaxLookback}");
                    n = 1;
                }

                _code.Add(new Instruction(function == "prev" ? OpCode.Prev : OpCode.ChangePct, A: Ring(n)));
                return new(Number(x), function == "prev" ? x.Unit : ValueUnit.Percent, false);
            case "crosses_above" or "crosses_below":
                if (call.Arguments.Count != 2)
                {
                    _error(call.Column, $"{function} takes 2 arguments, (a, b), got {call.Arguments.Count}");
                    PushError(call.Arguments);
                    return new(Kind.Error, ValueUnit.Number, false);
                }

                var a = Emit(call.Arguments[0]);
                var b = Emit(call.Arguments[1]);
                ExpectNumber(a, call.Arguments[0], function);
                ExpectNumber(b, call.Arguments[1], function);
                var capture = Capture(call.Arguments[0], function, call.Arguments[1], a, b);
                _code.Add(new Instruction(function == "crosses_above" ? OpCode.CrossAbove : OpCode.CrossBelow, A: Ring(1), B: Ring(1), Capture: capture));
                _depth--;
                return new(Condition(a, b), ValueUnit.Number, false);
            default:
                _error(call.Column, $"unknown function '{Quote(function)}'; known: {string.Join(", ", Functions)}");
                PushError(call.Arguments);
                return new(Kind.Error, ValueUnit.Number, false);
        }
    }

    /// <summary>Checks the arguments of a call that cannot be compiled, for their own errors, and leaves one value for it.</summary>
    private void PushError(IReadOnlyList<Syntax> arguments)
    {
        foreach (var argument in arguments)
        {
            Emit(argument);
        }

        _depth -= arguments.Count;
        Push(new Instruction(OpCode.Number, Number: double.NaN));
    }

    private bool Capture(Syntax leftSyntax, string op, Syntax rightSyntax, Typed left, Typed right)
    {
        if (_first is not null)
        {
            return false;
        }

        _first = new Comparison(Render(leftSyntax), op, Render(rightSyntax), left.Literal ? right.Unit : left.Unit);
        return true;
    }

    private int Ring(int capacity)
    {
        _rings.Add(capacity);
        return _rings.Count - 1;
    }

    private void Push(Instruction instruction)
    {
        _code.Add(instruction);
        _maxDepth = Math.Max(_maxDepth, ++_depth);
    }

    private void ExpectNumber(Typed typed, Syntax syntax, string what)
    {
        if (typed.Kind == Kind.Condition)
        {
            _error(Start(syntax), $"{what} takes numbers, but '{Quote(Render(syntax))}' is a condition");
        }
    }

    private void ExpectCondition(Typed typed, Syntax syntax, string what)
    {
        if (typed.Kind == Kind.Number)
        {
            _error(Start(syntax), $"{what} takes conditions, but '{Quote(Render(syntax))}' is a number; compare it with something");
        }
    }

    /// <summary>Where an operand starts, for errors about the whole of it: a binary expression's column is its operator's.</summary>
    private static int Start(Syntax syntax)
    {
        while (syntax is BinarySyntax b)
        {
            syntax = b.Left;
        }

        return syntax.Column;
    }

    private static Kind Number(params ReadOnlySpan<Typed> operands)
    {
        foreach (var t in operands)
        {
            if (t.Kind != Kind.Number)
            {
                return Kind.Error;
            }
        }

        return Kind.Number;
    }

    private static Kind Condition(params ReadOnlySpan<Typed> operands)
    {
        foreach (var t in operands)
        {
            if (t.Kind == Kind.Error)
            {
                return Kind.Error;
            }
        }

        return Kind.Condition;
    }

    // A literal takes the other side's unit (close * 1.02 is a price); otherwise only like units add.
    private static ValueUnit ArithmeticUnit(string op, Typed left, Typed right) => op switch
    {
        "+" or "-" when right.Literal || left.Unit == right.Unit => left.Literal ? right.Unit : left.Unit,
        "*" when left.Literal || right.Literal => left.Literal ? right.Unit : left.Unit,
        "/" when right.Literal => left.Unit,
        _ => ValueUnit.Number,
    };

    /// <summary>The expression as text, parenthesised where precedence needs it: for alerts and errors.</summary>
    internal static string Render(Syntax syntax) => syntax switch
    {
        NumberSyntax n => n.Value.ToString("R", CultureInfo.InvariantCulture),
        NameSyntax name => name.Name,
        UnarySyntax { Op: "-" } u => "-" + Wrap(u.Operand, 6),
        UnarySyntax u => "not " + Wrap(u.Operand, 2),
        BinarySyntax b => $"{Wrap(b.Left, Precedence(b.Op))} {b.Op} {Wrap(b.Right, Precedence(b.Op) + 1)}",
        CallSyntax c => $"{c.Function}({string.Join(", ", c.Arguments.Select(Render))})",
        _ => "?",
    };

    private static string Wrap(Syntax syntax, int precedence) =>
        syntax is BinarySyntax b && Precedence(b.Op) < precedence ? $"({Render(syntax)})" : Render(syntax);

    private static int Precedence(string op) => op switch
    {
        "or" => 0,
        "and" => 1,
        "+" or "-" => 4,
        "*" or "/" => 5,
        _ => 3,
    };

    private static string? Quote(string text) => PipelineMapping.Quote(text);
}
