using System.Globalization;

namespace Breadboard.Core.Pipeline.Expressions;

/// <summary>A node of a parsed <c>when</c> expression; <see cref="Column"/> is where it starts, 1-based, for errors.</summary>
internal abstract record Syntax(int Column);

internal sealed record NumberSyntax(int Column, double Value) : Syntax(Column);

/// <summary>A bar field or an indicator's value: <c>close</c>, <c>rsi14</c>, <c>bb.upper</c>.</summary>
internal sealed record NameSyntax(int Column, string Name) : Syntax(Column);

/// <summary><c>-x</c> or <c>not x</c>.</summary>
internal sealed record UnarySyntax(int Column, string Op, Syntax Operand) : Syntax(Column);

/// <summary>Arithmetic, a comparison, <c>and</c> or <c>or</c>; <see cref="Syntax.Column"/> is the operator's.</summary>
internal sealed record BinarySyntax(int Column, string Op, Syntax Left, Syntax Right) : Syntax(Column);

internal sealed record CallSyntax(int Column, string Function, IReadOnlyList<Syntax> Arguments) : Syntax(Column);

/// <summary>A <c>when</c> expression that cannot be parsed; the message names the column.</summary>
internal sealed class ExpressionSyntaxException(int column, string message) : Exception(message)
{
    public int Column { get; } = column;
}

/// <summary>
/// Parses a <c>when</c> expression. Precedence, loosest first: <c>or</c>; <c>and</c>; <c>not</c>; one comparison
/// (<c>&lt; &lt;= &gt; &gt;= == !=</c>, not chained); <c>+ -</c>; <c>* /</c>; unary minus; numbers, names,
/// calls and parentheses.
/// </summary>
internal sealed class ExpressionParser
{
    /// <summary>Longest expression: a rule is a line, not a program.</summary>
    public const int MaxLength = 2_000;

    /// <summary>Deepest nesting, so that a hostile expression cannot overflow the stack.</summary>
    public const int MaxDepth = 64;

    private static readonly string[] Comparisons = ["<=", ">=", "==", "!=", "<", ">"];

    private readonly string _text;
    private int _at;
    private int _depth;

    private ExpressionParser(string text) => _text = text;

    /// <exception cref="ExpressionSyntaxException">The text is not an expression.</exception>
    public static Syntax Parse(string text)
    {
        if (text.Length > MaxLength)
        {
            throw new ExpressionSyntaxException(MaxLength + 1, $"the expression is {text.Length:N0} characters long; at most {MaxLength:N0} are allowed");
        }

        var parser = new ExpressionParser(text);
        var result = parser.Or();
        parser.SkipSpace();
        if (parser._at < text.Length)
        {
            throw parser.Unexpected("an operator or the end of the expression");
        }

        return result;
    }

    private Syntax Or()
    {
        var left = And();
        while (Keyword("or") is { } column)
        {
            left = new BinarySyntax(column, "or", left, And());
        }

        return left;
    }

    private Syntax And()
    {
        var left = Not();
        while (Keyword("and") is { } column)
        {
            left = new BinarySyntax(column, "and", left, Not());
        }

        return left;
    }

    private Syntax Not()
    {
        if (Keyword("not") is { } column)
        {
            Enter();
            var operand = Not();
            _depth--;
            return new UnarySyntax(column, "not", operand);
        }

        return Comparison();
    }

    private Syntax Comparison()
    {
        var left = Sum();
        SkipSpace();
        foreach (var op in Comparisons)
        {
            if (string.CompareOrdinal(_text, _at, op, 0, op.Length) == 0)
            {
                var column = _at + 1;
                _at += op.Length;
                var right = Sum();
                SkipSpace();
                foreach (var next in Comparisons)
                {
                    if (string.CompareOrdinal(_text, _at, next, 0, next.Length) == 0)
                    {
                        throw new ExpressionSyntaxException(_at + 1, $"comparisons do not chain: write 'a {op} b and b {next} c'");
                    }
                }

                return new BinarySyntax(column, op, left, right);
            }
        }

        return left;
    }

    private Syntax Sum()
    {
        var left = Product();
        while (Symbol('+', '-') is { } op)
        {
            left = new BinarySyntax(op.Column, op.Text, left, Product());
        }

        return left;
    }

    private Syntax Product()
    {
        var left = Unary();
        while (Symbol('*', '/') is { } op)
        {
            left = new BinarySyntax(op.Column, op.Text, left, Unary());
        }

        return left;
    }

    private Syntax Unary()
    {
        if (Symbol('-') is { } op)
        {
            Enter();
            var operand = Unary();
            _depth--;
            return new UnarySyntax(op.Column, "-", operand);
        }

        return Primary();
    }

    private Syntax Primary()
    {
        SkipSpace();
        if (_at >= _text.Length)
        {
            throw Unexpected("a number, a name or '('");
        }

        var column = _at + 1;
        var c = _text[_at];
        if (c == '(')
        {
            _at++;
            Enter();
            var inner = Or();
            _depth--;
            Expect(')');
            return inner;
        }

        if (char.IsAsciiDigit(c) || (c == '.' && _at + 1 < _text.Length && char.IsAsciiDigit(_text[_at + 1])))
        {
            return Number(column);
        }

        if (!IsNameStart(c))
        {
            throw Unexpected("a number, a name or '('");
        }

        var name = Word();
        if (name is "and" or "or" or "not")
        {
            _at -= name.Length;
            throw Unexpected("a number, a name or '('");
        }

        SkipSpace();
        if (_at < _text.Length && _text[_at] == '(')
        {
            _at++;
            Enter();
            var arguments = new List<Syntax>();
            SkipSpace();
            if (_at < _text.Length && _text[_at] == ')')
            {
                _at++;
            }
            else
            {
                arguments.Add(Or());
                while (Symbol(',') is not null)
                {
                    arguments.Add(Or());
                }

                Expect(')');
            }

            _depth--;
            return new CallSyntax(column, name, arguments);
        }

        if (_at < _text.Length && _text[_at] == '.' && _at + 1 < _text.Length && IsNameStart(_text[_at + 1]))
        {
            _at++;
            name += "." + Word();
        }

        return new NameSyntax(column, name);
    }

    private NumberSyntax Number(int column)
    {
        var start = _at;
        while (_at < _text.Length && (char.IsAsciiDigit(_text[_at]) || _text[_at] == '.'))
        {
            _at++;
        }

        if (_at < _text.Length && _text[_at] is 'e' or 'E')
        {
            _at++;
            if (_at < _text.Length && _text[_at] is '+' or '-')
            {
                _at++;
            }

            while (_at < _text.Length && char.IsAsciiDigit(_text[_at]))
            {
                _at++;
            }
        }

        var text = _text[start.._at];
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            throw new ExpressionSyntaxException(column, $"'{Seams.OutsideText.ForDisplay(text, 32)}' is not a finite number");
        }

        if (_at < _text.Length && IsNameStart(_text[_at]))
        {
            throw new ExpressionSyntaxException(_at + 1, "a number must not run into a name; put an operator between them");
        }

        return new NumberSyntax(column, value);
    }

    private string Word()
    {
        var start = _at;
        while (_at < _text.Length && (IsNameStart(_text[_at]) || char.IsAsciiDigit(_text[_at])))
        {
            _at++;
        }

        return _text[start.._at];
    }

    private static bool IsNameStart(char c) => char.IsAsciiLetter(c) || c == '_';

    private int? Keyword(string word)
    {
        SkipSpace();
        if (string.CompareOrdinal(_text, _at, word, 0, word.Length) != 0)
        {
            return null;
        }

        var end = _at + word.Length;
        if (end < _text.Length && (IsNameStart(_text[end]) || char.IsAsciiDigit(_text[end])))
        {
            return null; // a name that starts with the keyword: "order", "notional"
        }

        var column = _at + 1;
        _at = end;
        return column;
    }

    private (int Column, string Text)? Symbol(params ReadOnlySpan<char> symbols)
    {
        SkipSpace();
        if (_at < _text.Length && symbols.Contains(_text[_at]))
        {
            // '<', '>', '=' and '!' start comparisons, never these symbols.
            var column = _at + 1;
            return (column, _text[_at++].ToString());
        }

        return null;
    }

    private void Expect(char c)
    {
        SkipSpace();
        if (_at >= _text.Length || _text[_at] != c)
        {
            throw Unexpected($"'{c}'");
        }

        _at++;
    }

    private void Enter()
    {
        if (++_depth > MaxDepth)
        {
            throw new ExpressionSyntaxException(_at + 1, $"nested deeper than {MaxDepth} levels");
        }
    }

    private void SkipSpace()
    {
        while (_at < _text.Length && char.IsWhiteSpace(_text[_at]))
        {
            _at++;
        }
    }

    private ExpressionSyntaxException Unexpected(string expected)
    {
        if (_at >= _text.Length)
        {
            return new ExpressionSyntaxException(_text.Length + 1, $"expected {expected}, but the expression ends");
        }

        var c = _text[_at];
        var got = IsNameStart(c) || char.IsAsciiDigit(c) ? Peek() : c.ToString();
        return new ExpressionSyntaxException(_at + 1, $"expected {expected}, got '{Seams.OutsideText.ForDisplay(got, 32)}'");
    }

    private string Peek()
    {
        var end = _at;
        while (end < _text.Length && (IsNameStart(_text[end]) || char.IsAsciiDigit(_text[end]) || _text[end] == '.'))
        {
            end++;
        }

        return _text[_at..end];
    }
}
