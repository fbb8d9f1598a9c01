namespace Slovo.Chat;

// The template as a tree: statements (nodes that write or bind) and expressions (nodes that compute a value).

internal abstract record Node(int Line);
internal sealed record TextNode(string Text, int Line) : Node(Line);
internal sealed record OutputNode(Expr Value, int Line) : Node(Line);
internal sealed record IfNode(List<(Expr? Condition, List<Node> Body)> Branches, int Line) : Node(Line);
internal sealed record ForNode(List<string> Targets, Expr Iterable, Expr? Filter, List<Node> Body, List<Node> Else, int Line) : Node(Line);
internal sealed record SetNode(Expr Target, Expr? Value, List<Node>? Body, int Line) : Node(Line);
internal sealed record MacroNode(string Name, List<(string Name, Expr? Default)> Parameters, List<Node> Body, int Line) : Node(Line);
internal sealed record BreakNode(int Line) : Node(Line);
internal sealed record ContinueNode(int Line) : Node(Line);

internal abstract record Expr(int Line);
internal sealed record Literal(object? Value, int Line) : Expr(Line);
internal sealed record Name(string Id, int Line) : Expr(Line);
internal sealed record ListExpr(List<Expr> Items, int Line) : Expr(Line);
internal sealed record DictExpr(List<(Expr Key, Expr Value)> Items, int Line) : Expr(Line);
internal sealed record Attribute(Expr Target, string Id, int Line) : Expr(Line);
internal sealed record Subscript(Expr Target, Expr Index, int Line) : Expr(Line);
internal sealed record Slice(Expr Target, Expr? Start, Expr? Stop, Expr? Step, int Line) : Expr(Line);
internal sealed record Call(Expr Target, List<Expr> Args, List<(string Name, Expr Value)> Kwargs, int Line) : Expr(Line);
internal sealed record Filter(Expr Target, string Id, List<Expr> Args, List<(string Name, Expr Value)> Kwargs, int Line) : Expr(Line);
internal sealed record Test(Expr Target, string Id, List<Expr> Args, bool Negated, int Line) : Expr(Line);
internal sealed record Unary(string Op, Expr Operand, int Line) : Expr(Line);
internal sealed record Binary(string Op, Expr Left, Expr Right, int Line) : Expr(Line);
internal sealed record Conditional(Expr Condition, Expr Then, Expr? Else, int Line) : Expr(Line);

/// <summary>Parses the tokens of <see cref="JinjaLexer"/> into statements, with Jinja's operator precedence.</summary>
internal sealed class JinjaParser(List<Token> tokens)
{
    private int _at;

    private Token Peek => tokens[_at];
    private Token Next() => tokens[_at++];

    private static TemplateException Error(Token t, string what) => new($"line {t.Line}: {what}");

    private bool IsOp(string op) => Peek.Kind == TokenKind.Operator && Peek.Value == op;
    private bool IsName(string name) => Peek.Kind == TokenKind.Name && Peek.Value == name;

    private void ExpectOp(string op)
    {
        if (!IsOp(op)) throw Error(Peek, $"expected '{op}' but found '{Peek.Value}'");
        ++_at;
    }

    private string ExpectName()
    {
        if (Peek.Kind != TokenKind.Name) throw Error(Peek, $"expected a name but found '{Peek.Value}'");
        return Next().Value;
    }

    private void Expect(TokenKind kind)
    {
        if (Peek.Kind != kind) throw Error(Peek, $"expected the end of the tag but found '{Peek.Value}'");
        ++_at;
    }

    public List<Node> ParseTemplate()
    {
        List<Node> body = ParseBody(out string? end);
        if (end is not null) throw Error(Peek, $"'{end}' without its opening block");
        return body;
    }

    // Statements until a block-closing keyword (returned in end, its tag's name read) or the end of input.
    private List<Node> ParseBody(out string? end, params string[] ends)
    {
        var nodes = new List<Node>();
        while (true)
        {
            Token t = Peek;
            switch (t.Kind)
            {
                case TokenKind.End:
                    if (ends.Length > 0) throw Error(t, $"the block is never closed (expected {string.Join(" or ", ends.Select(e => "{% " + e + " %}"))})");
                    end = null;
                    return nodes;
                case TokenKind.Text:
                    nodes.Add(new TextNode(Next().Value, t.Line));
                    break;
                case TokenKind.OpenExpression:
                    ++_at;
                    nodes.Add(new OutputNode(ParseExpression(), t.Line));
                    Expect(TokenKind.CloseExpression);
                    break;
                case TokenKind.OpenStatement:
                {
                    ++_at;
                    Token keyword = Peek;
                    string name = keyword.Kind == TokenKind.Name ? keyword.Value : throw Error(keyword, "a statement must start with a keyword");
                    if (ends.Contains(name) || name is "endif" or "endfor" or "endmacro" or "endset" or "elif" or "else")
                    {
                        if (!ends.Contains(name)) throw Error(keyword, $"unexpected '{name}'");
                        ++_at;
                        end = name;
                        return nodes;
                    }
                    ++_at;
                    nodes.Add(ParseStatement(name, keyword));
                    break;
                }
                default:
                    throw Error(t, $"unexpected '{t.Value}'");
            }
        }
    }

    private Node ParseStatement(string name, Token keyword)
    {
        int line = keyword.Line;
        switch (name)
        {
            case "if":
            {
                var branches = new List<(Expr?, List<Node>)>();
                Expr condition = ParseExpression();
                Expect(TokenKind.CloseStatement);
                while (true)
                {
                    List<Node> body = ParseBody(out string? end, "elif", "else", "endif");
                    branches.Add((condition, body));
                    if (end == "endif") { Expect(TokenKind.CloseStatement); break; }
                    if (end == "else")
                    {
                        Expect(TokenKind.CloseStatement);
                        branches.Add((null, ParseBody(out _, "endif")));
                        Expect(TokenKind.CloseStatement);
                        break;
                    }
                    condition = ParseExpression();
                    Expect(TokenKind.CloseStatement);
                }
                return new IfNode(branches, line);
            }
            case "for":
            {
                var targets = new List<string> { ExpectName() };
                while (IsOp(",")) { ++_at; targets.Add(ExpectName()); }
                if (!IsName("in")) throw Error(Peek, "expected 'in' in a for loop");
                ++_at;
                Expr iterable = ParseTernaryless();
                Expr? filter = null;
                if (IsName("if")) { ++_at; filter = ParseExpression(); }
                if (IsName("recursive")) throw Error(Peek, "recursive for loops are not supported");
                Expect(TokenKind.CloseStatement);
                List<Node> body = ParseBody(out string? end, "else", "endfor");
                List<Node> otherwise = [];
                Expect(TokenKind.CloseStatement);
                if (end == "else")
                {
                    otherwise = ParseBody(out _, "endfor");
                    Expect(TokenKind.CloseStatement);
                }
                return new ForNode(targets, iterable, filter, body, otherwise, line);
            }
            case "set":
            {
                Expr target = ParsePrimaryWithPostfix();
                if (target is not (Name or Attribute)) throw Error(keyword, "set needs a name or name.attribute");
                if (IsOp("="))
                {
                    ++_at;
                    Expr value = ParseExpression();
                    Expect(TokenKind.CloseStatement);
                    return new SetNode(target, value, null, line);
                }
                Expect(TokenKind.CloseStatement);
                List<Node> body = ParseBody(out _, "endset");
                Expect(TokenKind.CloseStatement);
                return new SetNode(target, null, body, line);
            }
            case "macro":
            {
                string macro = ExpectName();
                ExpectOp("(");
                var parameters = new List<(string, Expr?)>();
                while (!IsOp(")"))
                {
                    string p = ExpectName();
                    Expr? d = null;
                    if (IsOp("=")) { ++_at; d = ParseExpression(); }
                    parameters.Add((p, d));
                    if (IsOp(",")) ++_at;
                    else if (!IsOp(")")) throw Error(Peek, "expected ',' or ')' in the macro's parameters");
                }
                ++_at;
                Expect(TokenKind.CloseStatement);
                List<Node> body = ParseBody(out _, "endmacro");
                Expect(TokenKind.CloseStatement);
                return new MacroNode(macro, parameters, body, line);
            }
            case "break":
                Expect(TokenKind.CloseStatement);
                return new BreakNode(line);
            case "continue":
                Expect(TokenKind.CloseStatement);
                return new ContinueNode(line);
            default:
                throw Error(keyword, $"the statement '{name}' is not supported");
        }
    }

    public Expr ParseExpression()
    {
        Expr value = ParseOr();
        if (IsName("if"))
        {
            Token t = Next();
            Expr condition = ParseOr();
            Expr? otherwise = null;
            if (IsName("else")) { ++_at; otherwise = ParseExpression(); }
            return new Conditional(condition, value, otherwise, t.Line);
        }
        return value;
    }

    // A for loop's iterable: everything but a trailing "if" (which filters the loop).
    private Expr ParseTernaryless() => ParseOr();

    private Expr ParseOr()
    {
        Expr left = ParseAnd();
        while (IsName("or")) { Token t = Next(); left = new Binary("or", left, ParseAnd(), t.Line); }
        return left;
    }

    private Expr ParseAnd()
    {
        Expr left = ParseNot();
        while (IsName("and")) { Token t = Next(); left = new Binary("and", left, ParseNot(), t.Line); }
        return left;
    }

    private Expr ParseNot()
    {
        if (IsName("not")) { Token t = Next(); return new Unary("not", ParseNot(), t.Line); }
        return ParseCompare();
    }

    private Expr ParseCompare()
    {
        Expr left = ParseMath1();
        while (true)
        {
            Token t = Peek;
            if (t.Kind == TokenKind.Operator && t.Value is "==" or "!=" or "<" or ">" or "<=" or ">=")
            {
                ++_at;
                left = new Binary(t.Value, left, ParseMath1(), t.Line);
            }
            else if (IsName("in")) { ++_at; left = new Binary("in", left, ParseMath1(), t.Line); }
            else if (IsName("not") && tokens[_at + 1] is { Kind: TokenKind.Name, Value: "in" })
            {
                _at += 2;
                left = new Binary("not in", left, ParseMath1(), t.Line);
            }
            else return left;
        }
    }

    private Expr ParseMath1()
    {
        Expr left = ParseConcat();
        while (Peek.Kind == TokenKind.Operator && Peek.Value is "+" or "-") { Token t = Next(); left = new Binary(t.Value, left, ParseConcat(), t.Line); }
        return left;
    }

    private Expr ParseConcat()
    {
        Expr left = ParseMath2();
        while (IsOp("~")) { Token t = Next(); left = new Binary("~", left, ParseMath2(), t.Line); }
        return left;
    }

    private Expr ParseMath2()
    {
        Expr left = ParsePow();
        while (Peek.Kind == TokenKind.Operator && Peek.Value is "*" or "/" or "//" or "%") { Token t = Next(); left = new Binary(t.Value, left, ParsePow(), t.Line); }
        return left;
    }

    private Expr ParsePow()
    {
        Expr left = ParseUnary();
        while (IsOp("**")) { Token t = Next(); left = new Binary("**", left, ParseUnary(), t.Line); }
        return left;
    }

    private Expr ParseUnary()
    {
        if (Peek.Kind == TokenKind.Operator && Peek.Value is "-" or "+")
        {
            Token t = Next();
            return new Unary(t.Value, ParseUnary(), t.Line);
        }
        return ParseFilters(ParsePrimaryWithPostfix());
    }

    // Filters (x | f(args)) and tests (x is [not] t(args)) bind tighter than any operator.
    private Expr ParseFilters(Expr target)
    {
        while (true)
        {
            if (IsOp("|"))
            {
                Token t = Next();
                string id = ExpectName();
                (List<Expr> args, List<(string, Expr)> kwargs) = IsOp("(") ? ParseArguments() : ([], []);
                target = new Filter(target, id, args, kwargs, t.Line);
            }
            else if (IsName("is"))
            {
                Token t = Next();
                bool negated = false;
                if (IsName("not")) { ++_at; negated = true; }
                string id = Peek.Kind == TokenKind.Name ? Next().Value : throw Error(Peek, "expected a test name after 'is'");
                List<Expr> args = [];
                if (IsOp("(")) args = ParseArguments().Args;
                else if (Peek.Kind is TokenKind.String or TokenKind.Integer or TokenKind.Float || IsName("none") || IsName("true") || IsName("false"))
                    args = [ParsePrimaryWithPostfix()];
                target = new Test(target, id, args, negated, t.Line);
            }
            else return target;
        }
    }

    private (List<Expr> Args, List<(string, Expr)> Kwargs) ParseArguments()
    {
        ExpectOp("(");
        var args = new List<Expr>();
        var kwargs = new List<(string, Expr)>();
        while (!IsOp(")"))
        {
            if (Peek.Kind == TokenKind.Name && tokens[_at + 1] is { Kind: TokenKind.Operator, Value: "=" })
            {
                string key = Next().Value;
                ++_at;
                kwargs.Add((key, ParseExpression()));
            }
            else args.Add(ParseExpression());
            if (IsOp(",")) ++_at;
            else if (!IsOp(")")) throw Error(Peek, "expected ',' or ')' in the arguments");
        }
        ++_at;
        return (args, kwargs);
    }

    private Expr ParsePrimaryWithPostfix()
    {
        Expr e = ParsePrimary();
        while (true)
        {
            Token t = Peek;
            if (IsOp("."))
            {
                ++_at;
                e = new Attribute(e, Peek.Kind is TokenKind.Name or TokenKind.Integer ? Next().Value : throw Error(Peek, "expected a name after '.'"), t.Line);
            }
            else if (IsOp("["))
            {
                ++_at;
                Expr? start = null, stop = null, step = null;
                bool slice = false;
                if (!IsOp(":")) start = ParseExpression();
                if (IsOp(":"))
                {
                    slice = true;
                    ++_at;
                    if (!IsOp(":") && !IsOp("]")) stop = ParseExpression();
                    if (IsOp(":")) { ++_at; if (!IsOp("]")) step = ParseExpression(); }
                }
                ExpectOp("]");
                e = slice ? new Slice(e, start, stop, step, t.Line) : new Subscript(e, start!, t.Line);
            }
            else if (IsOp("("))
            {
                (List<Expr> args, List<(string, Expr)> kwargs) = ParseArguments();
                e = new Call(e, args, kwargs, t.Line);
            }
            else return e;
        }
    }

    private Expr ParsePrimary()
    {
        Token t = Next();
        switch (t.Kind)
        {
            case TokenKind.String:
            {
                string s = t.Value;
                while (Peek.Kind == TokenKind.String) s += Next().Value; // adjacent literals join, as in Python
                return new Literal(s, t.Line);
            }
            case TokenKind.Integer: return new Literal(long.Parse(t.Value, System.Globalization.CultureInfo.InvariantCulture), t.Line);
            case TokenKind.Float: return new Literal(double.Parse(t.Value, System.Globalization.CultureInfo.InvariantCulture), t.Line);
            case TokenKind.Name:
                return t.Value switch
                {
                    "true" or "True" => new Literal(true, t.Line),
                    "false" or "False" => new Literal(false, t.Line),
                    "none" or "None" => new Literal(null, t.Line),
                    _ => new Name(t.Value, t.Line),
                };
            case TokenKind.Operator when t.Value == "(":
            {
                Expr inner = ParseExpression();
                if (IsOp(","))
                {
                    var items = new List<Expr> { inner };
                    while (IsOp(",")) { ++_at; if (IsOp(")")) break; items.Add(ParseExpression()); }
                    ExpectOp(")");
                    return new ListExpr(items, t.Line);
                }
                ExpectOp(")");
                return inner;
            }
            case TokenKind.Operator when t.Value == "[":
            {
                var items = new List<Expr>();
                while (!IsOp("]"))
                {
                    items.Add(ParseExpression());
                    if (IsOp(",")) ++_at;
                    else if (!IsOp("]")) throw Error(Peek, "expected ',' or ']' in a list");
                }
                ++_at;
                return new ListExpr(items, t.Line);
            }
            case TokenKind.Operator when t.Value == "{":
            {
                var items = new List<(Expr, Expr)>();
                while (!IsOp("}"))
                {
                    Expr key = ParseExpression();
                    ExpectOp(":");
                    items.Add((key, ParseExpression()));
                    if (IsOp(",")) ++_at;
                    else if (!IsOp("}")) throw Error(Peek, "expected ',' or '}' in a dict");
                }
                ++_at;
                return new DictExpr(items, t.Line);
            }
            default:
                throw Error(t, $"unexpected '{(t.Kind == TokenKind.End ? "end of template" : t.Value)}' in an expression");
        }
    }
}
