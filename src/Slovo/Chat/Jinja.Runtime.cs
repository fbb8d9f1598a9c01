using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Slovo.Chat;

/// <summary>A template's own error: what its raise_exception(...) said.</summary>
public sealed class TemplateRaisedException(string message) : Exception(message);

/// <summary>Jinja's undefined: renders as nothing, is false, and is what a missing name, key or attribute gives.</summary>
internal sealed class Undefined
{
    public static readonly Undefined Value = new();
}

internal sealed class Namespace
{
    public readonly OrderedDictionary<string, object?> Attributes = new(StringComparer.Ordinal);
}

internal delegate object? Callable(List<object?> args, List<(string Name, object? Value)> kwargs, int line);

/// <summary>Runs a parsed template over values: null (none), bool, long, double, string, lists, ordered dicts, namespaces and callables.</summary>
internal sealed class JinjaRuntime
{
    private sealed class LoopControl(bool isBreak) : Exception { public bool IsBreak { get; } = isBreak; }

    private sealed class Scope(Scope? parent)
    {
        private readonly Dictionary<string, object?> _vars = new(StringComparer.Ordinal);

        public Scope? Parent { get; } = parent;

        public bool TryGet(string name, out object? value)
        {
            for (Scope? s = this; s is not null; s = s.Parent)
                if (s._vars.TryGetValue(name, out value)) return true;
            value = null;
            return false;
        }

        public void Set(string name, object? value) => _vars[name] = value;
    }

    private readonly Scope _globals = new(null);
    private readonly Func<DateTime> _now;

    public JinjaRuntime(IReadOnlyDictionary<string, object?> context, Func<DateTime> now)
    {
        _now = now;
        _globals.Set("raise_exception", (Callable)((args, _, line) => throw new TemplateRaisedException(args.Count > 0 ? Str(args[0]) : "raise_exception")));
        _globals.Set("strftime_now", (Callable)((args, _, line) => Strftime(_now(), args.Count > 0 ? Str(args[0]) : "%Y-%m-%d")));
        _globals.Set("range", (Callable)((args, _, line) =>
        {
            long start = 0, stop, step = 1;
            if (args.Count == 1) stop = ToLong(args[0], line);
            else { start = ToLong(args[0], line); stop = ToLong(args[1], line); if (args.Count > 2) step = ToLong(args[2], line); }
            if (step == 0) throw new TemplateException($"line {line}: range() step must not be zero");
            var list = new List<object?>();
            for (long i = start; step > 0 ? i < stop : i > stop; i += step) list.Add(i);
            return list;
        }));
        _globals.Set("namespace", (Callable)((args, kwargs, line) =>
        {
            var ns = new Namespace();
            foreach (object? a in args) if (a is OrderedDictionary<string, object?> d) foreach ((string k, object? v) in d) ns.Attributes[k] = v;
            foreach ((string k, object? v) in kwargs) ns.Attributes[k] = v;
            return ns;
        }));
        _globals.Set("dict", (Callable)((args, kwargs, line) =>
        {
            var d = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
            foreach ((string k, object? v) in kwargs) d[k] = v;
            return d;
        }));
        foreach ((string k, object? v) in context) _globals.Set(k, v);
    }

    public string Render(List<Node> nodes)
    {
        var sb = new StringBuilder();
        Execute(nodes, _globals, sb);
        return sb.ToString();
    }

    private void Execute(List<Node> nodes, Scope scope, StringBuilder output)
    {
        foreach (Node node in nodes) Execute(node, scope, output);
    }

    private void Execute(Node node, Scope scope, StringBuilder output)
    {
        switch (node)
        {
            case TextNode t:
                output.Append(t.Text);
                break;
            case OutputNode o:
                output.Append(Print(Eval(o.Value, scope)));
                break;
            case IfNode i:
                foreach ((Expr? condition, List<Node> body) in i.Branches)
                    if (condition is null || Truthy(Eval(condition, scope)))
                    {
                        Execute(body, scope, output);
                        break;
                    }
                break;
            case ForNode f:
                RunFor(f, scope, output);
                break;
            case SetNode s:
            {
                object? value;
                if (s.Body is not null)
                {
                    var inner = new StringBuilder();
                    Execute(s.Body, scope, inner);
                    value = inner.ToString();
                }
                else value = Eval(s.Value!, scope);
                if (s.Target is Name n) scope.Set(n.Id, value);
                else if (s.Target is Attribute { Target: Name owner } a)
                {
                    if (!scope.TryGet(owner.Id, out object? target) || target is not Namespace ns)
                        throw new TemplateException($"line {s.Line}: only a namespace's attributes can be set ('{owner.Id}' is not a namespace)");
                    ns.Attributes[a.Id] = value;
                }
                else throw new TemplateException($"line {s.Line}: this set target is not supported");
                break;
            }
            case MacroNode m:
                scope.Set(m.Name, MakeMacro(m, scope));
                break;
            case BreakNode:
                throw new LoopControl(true);
            case ContinueNode:
                throw new LoopControl(false);
        }
    }

    private Callable MakeMacro(MacroNode m, Scope defined) => (args, kwargs, line) =>
    {
        var scope = new Scope(defined);
        for (int i = 0; i < m.Parameters.Count; ++i)
        {
            (string name, Expr? fallback) = m.Parameters[i];
            object? value = i < args.Count ? args[i] : kwargs.FirstOrDefault(k => k.Name == name) is { Name: not null } kw ? kw.Value
                : fallback is not null ? Eval(fallback, defined) : Undefined.Value;
            scope.Set(name, value);
        }
        var output = new StringBuilder();
        Execute(m.Body, scope, output);
        return output.ToString();
    };

    private void RunFor(ForNode f, Scope scope, StringBuilder output)
    {
        object? source = Eval(f.Iterable, scope);
        List<object?> items = source switch
        {
            List<object?> l => l,
            OrderedDictionary<string, object?> d => d.Keys.Cast<object?>().ToList(),
            string s => s.EnumerateRunes().Select(r => (object?)r.ToString()).ToList(),
            _ => throw new TemplateException($"line {f.Line}: Expected iterable or object type in for loop: got {TypeName(source)}"),
        };
        if (f.Filter is not null)
            items = items.Where(item => { var s = new Scope(scope); Bind(f, s, item); return Truthy(Eval(f.Filter, s)); }).ToList();
        if (items.Count == 0)
        {
            Execute(f.Else, scope, output);
            return;
        }
        for (int i = 0; i < items.Count; ++i)
        {
            var inner = new Scope(scope);
            Bind(f, inner, items[i]);
            var loop = new OrderedDictionary<string, object?>(StringComparer.Ordinal)
            {
                ["index"] = (long)i + 1, ["index0"] = (long)i, ["revindex"] = (long)(items.Count - i), ["revindex0"] = (long)(items.Count - i - 1),
                ["first"] = i == 0, ["last"] = i == items.Count - 1, ["length"] = (long)items.Count,
                ["previtem"] = i > 0 ? items[i - 1] : Undefined.Value, ["nextitem"] = i + 1 < items.Count ? items[i + 1] : Undefined.Value,
            };
            inner.Set("loop", loop);
            try { Execute(f.Body, inner, output); }
            catch (LoopControl c) { if (c.IsBreak) break; }
        }
    }

    private static void Bind(ForNode f, Scope scope, object? item)
    {
        if (f.Targets.Count == 1) { scope.Set(f.Targets[0], item); return; }
        if (item is not List<object?> parts || parts.Count != f.Targets.Count)
            throw new TemplateException($"line {f.Line}: cannot unpack {TypeName(item)} into {f.Targets.Count} names");
        for (int k = 0; k < parts.Count; ++k) scope.Set(f.Targets[k], parts[k]);
    }

    private object? Eval(Expr e, Scope scope)
    {
        switch (e)
        {
            case Literal l: return l.Value;
            case Name n: return scope.TryGet(n.Id, out object? found) ? found : Undefined.Value;
            case ListExpr l: return l.Items.Select(x => Eval(x, scope)).ToList();
            case DictExpr d:
            {
                var dict = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
                foreach ((Expr key, Expr value) in d.Items) dict[Str(Eval(key, scope))] = Eval(value, scope);
                return dict;
            }
            case Attribute a: return GetAttribute(Eval(a.Target, scope), a.Id, a.Line);
            case Subscript s: return GetItem(Eval(s.Target, scope), Eval(s.Index, scope), s.Line);
            case Slice s:
                return SliceOf(Eval(s.Target, scope), s.Start is null ? null : Eval(s.Start, scope), s.Stop is null ? null : Eval(s.Stop, scope),
                               s.Step is null ? null : Eval(s.Step, scope), s.Line);
            case Call c:
            {
                object? target = Eval(c.Target, scope);
                if (target is not Callable f)
                    throw new TemplateException($"line {c.Line}: {Describe(c.Target)} is not a function (it is {TypeName(target)})");
                return f(c.Args.Select(x => Eval(x, scope)).ToList(), c.Kwargs.Select(k => (k.Name, Eval(k.Value, scope))).ToList(), c.Line);
            }
            case Filter f: return ApplyFilter(f, Eval(f.Target, scope), scope);
            case Test t:
            {
                bool result = ApplyTest(t, Eval(t.Target, scope), t.Args.Select(x => Eval(x, scope)).ToList());
                return t.Negated ? !result : result;
            }
            case Unary u:
            {
                object? operand = Eval(u.Operand, scope);
                return u.Op switch
                {
                    "not" => !Truthy(operand),
                    "-" => operand switch { long i => (object)(-i), double d => -d, _ => throw new TemplateException($"line {u.Line}: cannot negate {TypeName(operand)}") },
                    _ => operand,
                };
            }
            case Binary b: return EvalBinary(b, scope);
            case Conditional c:
                return Truthy(Eval(c.Condition, scope)) ? Eval(c.Then, scope) : c.Else is null ? Undefined.Value : Eval(c.Else, scope);
            default: throw new TemplateException($"line {e.Line}: unsupported expression");
        }
    }

    private static string Describe(Expr e) => e switch { Name n => $"'{n.Id}'", Attribute a => $"'{a.Id}'", _ => "the called value" };

    private object? EvalBinary(Binary b, Scope scope)
    {
        if (b.Op == "and") { object? l = Eval(b.Left, scope); return Truthy(l) ? Eval(b.Right, scope) : l; }
        if (b.Op == "or") { object? l = Eval(b.Left, scope); return Truthy(l) ? l : Eval(b.Right, scope); }
        object? left = Eval(b.Left, scope), right = Eval(b.Right, scope);
        switch (b.Op)
        {
            case "==": return Equal(left, right);
            case "!=": return !Equal(left, right);
            case "in": return Contains(right, left, b.Line);
            case "not in": return !Contains(right, left, b.Line);
            case "~": return Print(left) + Print(right);
            case "<" or ">" or "<=" or ">=":
            {
                int c = Compare(left, right, b.Line);
                return b.Op switch { "<" => c < 0, ">" => c > 0, "<=" => c <= 0, _ => c >= 0 };
            }
            case "+":
                if (left is string ls && right is string rs) return ls + rs;
                if (left is List<object?> ll && right is List<object?> rl) return ll.Concat(rl).ToList();
                break;
        }
        if (IsNumber(left) && IsNumber(right))
        {
            if (left is long x && right is long y)
                return b.Op switch
                {
                    "+" => (object)(x + y), "-" => x - y, "*" => x * y, "/" => (double)x / y,
                    "//" => y == 0 ? throw new TemplateException($"line {b.Line}: division by zero") : (long)Math.Floor((double)x / y),
                    "%" => y == 0 ? throw new TemplateException($"line {b.Line}: division by zero") : ((x % y) + y) % y,
                    "**" => (long)Math.Pow(x, y),
                    _ => throw new TemplateException($"line {b.Line}: unknown operator {b.Op}"),
                };
            double p = ToDouble(left), q = ToDouble(right);
            return b.Op switch
            {
                "+" => p + q, "-" => p - q, "*" => p * q, "/" => p / q, "//" => Math.Floor(p / q), "%" => p - q * Math.Floor(p / q), "**" => Math.Pow(p, q),
                _ => throw new TemplateException($"line {b.Line}: unknown operator {b.Op}"),
            };
        }
        if (b.Op == "*" && left is string str && right is long times) return string.Concat(Enumerable.Repeat(str, (int)Math.Max(0, times)));
        if (left is null or Undefined || right is null or Undefined) throw new TemplateException($"line {b.Line}: Cannot perform operation on null values");
        throw new TemplateException($"line {b.Line}: Unknown operator \"{b.Op}\" between {TypeName(left)} and {TypeName(right)}");
    }

    // ---- values ----

    internal static string TypeName(object? v) => v switch
    {
        null => "NullValue", Undefined => "UndefinedValue", bool => "BooleanValue", long => "IntegerValue", double => "FloatValue", string => "StringValue",
        List<object?> => "ArrayValue", OrderedDictionary<string, object?> => "ObjectValue", Namespace => "ObjectValue", Callable => "FunctionValue", _ => v.GetType().Name,
    };

    private static bool IsNumber(object? v) => v is long or double;

    private static double ToDouble(object? v) => v switch { long l => l, double d => d, bool b => b ? 1 : 0, _ => double.NaN };

    private static long ToLong(object? v, int line) => v switch
    {
        long l => l, double d => (long)d, bool b => b ? 1 : 0, _ => throw new TemplateException($"line {line}: expected an integer, got {TypeName(v)}"),
    };

    internal static bool Truthy(object? v) => v switch
    {
        null or Undefined => false, bool b => b, long l => l != 0, double d => d != 0, string s => s.Length > 0, List<object?> l => l.Count > 0,
        OrderedDictionary<string, object?> d => d.Count > 0, _ => true,
    };

    private static bool Equal(object? a, object? b)
    {
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a) == ToDouble(b);
        return (a, b) switch
        {
            (null, null) or (Undefined, Undefined) => true,
            (string x, string y) => x == y,
            (bool x, bool y) => x == y,
            (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => Equal(p.First, p.Second)),
            _ => ReferenceEquals(a, b),
        };
    }

    private static int Compare(object? a, object? b, int line)
    {
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a).CompareTo(ToDouble(b));
        if (a is string x && b is string y) return string.CompareOrdinal(x, y);
        throw new TemplateException($"line {line}: cannot compare {TypeName(a)} with {TypeName(b)}");
    }

    private static bool Contains(object? container, object? item, int line) => container switch
    {
        string s => item is string sub ? s.Contains(sub, StringComparison.Ordinal) : throw new TemplateException($"line {line}: 'in <string>' needs a string"),
        List<object?> l => l.Any(x => Equal(x, item)),
        OrderedDictionary<string, object?> d => item is string k && d.ContainsKey(k),
        null or Undefined => false,
        _ => throw new TemplateException($"line {line}: cannot look for a value in {TypeName(container)}"),
    };

    /// <summary>How a value prints in {{ }}: none and undefined as nothing, bools lower-case, floats with a decimal point, lists and dicts as JSON-like text.</summary>
    internal static string Print(object? v) => v switch
    {
        null or Undefined => "",
        string s => s,
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FormatFloat(d),
        List<object?> or OrderedDictionary<string, object?> => Json(v, null, 0, pythonSpacing: true),
        _ => TypeName(v),
    };

    private static string Str(object? v) => v is string s ? s : Print(v);

    private static string FormatFloat(double d)
    {
        if (double.IsNaN(d)) return "NaN";
        if (double.IsInfinity(d)) return d > 0 ? "Infinity" : "-Infinity";
        string s = d.ToString("R", CultureInfo.InvariantCulture);
        return d == Math.Floor(d) && !s.Contains('E') && !s.Contains('.') ? s + ".0" : s;
    }

    internal static string Json(object? v, int? indent, int depth, bool pythonSpacing = true)
    {
        switch (v)
        {
            case null or Undefined: return "null";
            case bool b: return b ? "true" : "false";
            case long l: return l.ToString(CultureInfo.InvariantCulture);
            case double d: return d == Math.Floor(d) && Math.Abs(d) < 1e15 ? ((long)d).ToString(CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture);
            case string s: return Quote(s);
        }
        string Pad(int n) => indent is { } i ? "\n" + new string(' ', i * n) : "";
        string itemSeparator = indent is null ? ", " : ",";
        switch (v)
        {
            case List<object?> list:
                if (list.Count == 0) return "[]";
                return "[" + string.Join(itemSeparator, list.Select(x => Pad(depth + 1) + Json(x, indent, depth + 1))) + Pad(depth) + "]";
            case OrderedDictionary<string, object?> dict:
                if (dict.Count == 0) return "{}";
                return "{" + string.Join(itemSeparator, dict.Select(kv => Pad(depth + 1) + Quote(kv.Key) + ": " + Json(kv.Value, indent, depth + 1))) + Pad(depth) + "}";
            case Namespace ns:
                return Json(ns.Attributes, indent, depth);
            default:
                return "null";
        }
    }

    private static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    private static object? GetItem(object? target, object? index, int line)
    {
        switch (target)
        {
            case OrderedDictionary<string, object?> d:
                return d.TryGetValue(Str(index), out object? v) ? v : Undefined.Value;
            case Namespace ns:
                return ns.Attributes.TryGetValue(Str(index), out object? nv) ? nv : Undefined.Value;
            case List<object?> l when index is long i:
                if (i < 0) i += l.Count;
                return i >= 0 && i < l.Count ? l[(int)i] : Undefined.Value;
            case string s when index is long i:
                if (i < 0) i += s.Length;
                return i >= 0 && i < s.Length ? s[(int)i].ToString() : Undefined.Value;
            case null or Undefined:
                return Undefined.Value;
            default:
                if (index is string name) return GetAttribute(target, name, line);
                throw new TemplateException($"line {line}: cannot index {TypeName(target)} with {TypeName(index)}");
        }
    }

    private static object? SliceOf(object? target, object? start, object? stop, object? step, int line)
    {
        long n = target switch { List<object?> l => l.Count, string s => s.Length, _ => throw new TemplateException($"line {line}: cannot slice {TypeName(target)}") };
        long st = step is null or Undefined ? 1 : ToLong(step, line);
        if (st == 0) throw new TemplateException($"line {line}: slice step cannot be zero");
        long Norm(object? x, long fallback) => x is null or Undefined ? fallback : ToLong(x, line) is var v && v < 0 ? Math.Max(v + n, st > 0 ? 0 : -1) : Math.Min(ToLong(x, line), st > 0 ? n : n - 1);
        long a = Norm(start, st > 0 ? 0 : n - 1), b = Norm(stop, st > 0 ? n : -1);
        var indices = new List<int>();
        for (long i = a; st > 0 ? i < b : i > b; i += st) indices.Add((int)i);
        return target is string str ? string.Concat(indices.Select(i => str[i])) : indices.Select(i => ((List<object?>)target!)[i]).ToList();
    }

    private static object? GetAttribute(object? target, string name, int line)
    {
        switch (target)
        {
            case OrderedDictionary<string, object?> d:
                if (d.TryGetValue(name, out object? v)) return v;
                return name switch
                {
                    "items" => (Callable)((_, _, _) => d.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList()),
                    "keys" => (Callable)((_, _, _) => d.Keys.Cast<object?>().ToList()),
                    "values" => (Callable)((_, _, _) => d.Values.ToList()),
                    "get" => (Callable)((args, _, _) => args.Count > 0 && d.TryGetValue(Str(args[0]), out object? g) ? g : args.Count > 1 ? args[1] : null),
                    _ => Undefined.Value,
                };
            case Namespace ns:
                return ns.Attributes.TryGetValue(name, out object? nv) ? nv : Undefined.Value;
            case string s:
                return StringMethod(s, name, line);
            case List<object?> l:
                return name switch
                {
                    "append" => (Callable)((args, _, _) => { l.Add(args.Count > 0 ? args[0] : null); return null; }),
                    "pop" => (Callable)((args, _, ln) =>
                    {
                        int i = args.Count > 0 ? (int)ToLong(args[0], ln) : l.Count - 1;
                        if (i < 0) i += l.Count;
                        object? x = l[i];
                        l.RemoveAt(i);
                        return x;
                    }),
                    _ => Undefined.Value,
                };
            default:
                return Undefined.Value;
        }
    }

    private static string StripChars(string s, object? chars, bool start, bool end)
    {
        char[]? set = chars is string c ? c.ToCharArray() : null;
        int a = 0, b = s.Length;
        bool Strip(char ch) => set is null ? char.IsWhiteSpace(ch) : set.Contains(ch);
        if (start) while (a < b && Strip(s[a])) ++a;
        if (end) while (b > a && Strip(s[b - 1])) --b;
        return s[a..b];
    }

    private static object? StringMethod(string s, string name, int line) => name switch
    {
        "strip" => (Callable)((args, _, _) => StripChars(s, args.Count > 0 ? args[0] : null, true, true)),
        "lstrip" => (Callable)((args, _, _) => StripChars(s, args.Count > 0 ? args[0] : null, true, false)),
        "rstrip" => (Callable)((args, _, _) => StripChars(s, args.Count > 0 ? args[0] : null, false, true)),
        "upper" => (Callable)((_, _, _) => s.ToUpperInvariant()),
        "lower" => (Callable)((_, _, _) => s.ToLowerInvariant()),
        "title" => (Callable)((_, _, _) => Title(s)),
        "capitalize" => (Callable)((_, _, _) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant()),
        "startswith" => (Callable)((args, _, _) => args.Count > 0 && (args[0] is List<object?> any ? any.Any(p => s.StartsWith(Str(p), StringComparison.Ordinal)) : s.StartsWith(Str(args[0]), StringComparison.Ordinal))),
        "endswith" => (Callable)((args, _, _) => args.Count > 0 && (args[0] is List<object?> any ? any.Any(p => s.EndsWith(Str(p), StringComparison.Ordinal)) : s.EndsWith(Str(args[0]), StringComparison.Ordinal))),
        "replace" => (Callable)((args, _, ln) => args.Count >= 2 ? ReplaceCount(s, Str(args[0]), Str(args[1]), args.Count > 2 ? ToLong(args[2], ln) : -1)
            : throw new TemplateException($"line {ln}: replace needs two arguments")),
        "split" => (Callable)((args, _, ln) => Split(s, args.Count > 0 && args[0] is string sep ? sep : null, args.Count > 1 ? ToLong(args[1], ln) : -1)),
        "find" => (Callable)((args, _, _) => (long)s.IndexOf(Str(args[0]), StringComparison.Ordinal)),
        "count" => (Callable)((args, _, _) => { string sub = Str(args[0]); long n = 0; for (int i = s.IndexOf(sub, StringComparison.Ordinal); i >= 0 && sub.Length > 0; i = s.IndexOf(sub, i + sub.Length, StringComparison.Ordinal)) ++n; return n; }),
        "join" => (Callable)((args, _, _) => args.Count > 0 && args[0] is List<object?> l ? string.Join(s, l.Select(Str)) : ""),
        "isdigit" => (Callable)((_, _, _) => s.Length > 0 && s.All(char.IsDigit)),
        _ => Undefined.Value,
    };

    private static string ReplaceCount(string s, string old, string @new, long count)
    {
        if (count < 0 || old.Length == 0) return old.Length == 0 ? s : s.Replace(old, @new, StringComparison.Ordinal);
        var sb = new StringBuilder();
        int at = 0;
        for (long n = 0; n < count; ++n)
        {
            int i = s.IndexOf(old, at, StringComparison.Ordinal);
            if (i < 0) break;
            sb.Append(s, at, i - at).Append(@new);
            at = i + old.Length;
        }
        return sb.Append(s, at, s.Length - at).ToString();
    }

    private static List<object?> Split(string s, string? sep, long max)
    {
        if (sep is null)
        {
            var parts = s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return parts.Cast<object?>().ToList();
        }
        if (max < 0) return s.Split(sep).Cast<object?>().ToList();
        return s.Split(sep, (int)max + 1).Cast<object?>().ToList();
    }

    private static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool start = true;
        foreach (char c in s)
        {
            sb.Append(start ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            start = !char.IsLetterOrDigit(c);
        }
        return sb.ToString();
    }

    // ---- filters and tests ----

    private object? ApplyFilter(Filter f, object? v, Scope scope)
    {
        List<object?> args = f.Args.Select(a => Eval(a, scope)).ToList();
        object? Kw(string name, int position, object? fallback)
        {
            foreach ((string n, Expr e) in f.Kwargs) if (n == name) return Eval(e, scope);
            return position < args.Count ? args[position] : fallback;
        }
        int line = f.Line;
        List<object?> Items(object? x) => x switch
        {
            List<object?> l => l,
            OrderedDictionary<string, object?> d => d.Keys.Cast<object?>().ToList(),
            string s => s.Select(c => (object?)c.ToString()).ToList(),
            _ => throw new TemplateException($"line {line}: the filter '{f.Id}' needs a list, not {TypeName(x)}"),
        };
        switch (f.Id)
        {
            case "trim": return v is string trimmed ? StripChars(trimmed, Kw("chars", 0, null), true, true) : Print(v);
            case "upper": return Str(v).ToUpperInvariant();
            case "lower": return Str(v).ToLowerInvariant();
            case "capitalize": { string text = Str(v); return text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..].ToLowerInvariant(); }
            case "title": return Title(Str(v));
            case "string": return Str(v);
            case "safe" or "e" or "escape" when f.Id == "safe": return v;
            case "length" or "count":
                return v switch
                {
                    string text => (long)text.Length, List<object?> l => (long)l.Count, OrderedDictionary<string, object?> d => (long)d.Count,
                    _ => throw new TemplateException($"line {line}: the filter '{f.Id}' needs a string, list or dict, not {TypeName(v)}"),
                };
            case "tojson":
            {
                object? indent = Kw("indent", 0, null);
                return Json(v, indent is long i ? (int)i : null, 0);
            }
            case "items":
                if (v is OrderedDictionary<string, object?> dict) return dict.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList();
                if (v is null or Undefined) return new List<object?>();
                throw new TemplateException($"line {line}: the filter 'items' needs a dict, not {TypeName(v)}");
            case "list": return Items(v).ToList();
            case "first": { var l = Items(v); return l.Count > 0 ? l[0] : Undefined.Value; }
            case "last": { var l = Items(v); return l.Count > 0 ? l[^1] : Undefined.Value; }
            case "reverse": return v is string rs ? new string(rs.Reverse().ToArray()) : Enumerable.Reverse(Items(v)).ToList();
            case "join":
            {
                string sep = Str(Kw("d", 0, ""));
                object? attribute = Kw("attribute", 1, null);
                return string.Join(sep, Items(v).Select(x => Str(attribute is string a ? GetItem(x, a, line) : x)));
            }
            case "default" or "d":
            {
                object? fallback = Kw("default_value", 0, "");
                bool boolean = Truthy(Kw("boolean", 1, false));
                return v is Undefined || boolean && !Truthy(v) ? fallback : v;
            }
            case "int": return v switch { long l => (object)l, double d => (long)d, string text when long.TryParse(text.Trim(), out long p) => p, _ => Kw("default", 0, 0L) };
            case "float": return v switch { long l => (double)l, double d => d, string text when double.TryParse(text.Trim(), CultureInfo.InvariantCulture, out double p) => p, _ => 0.0 };
            case "abs": return v switch { long l => (object)Math.Abs(l), double d => Math.Abs(d), _ => throw new TemplateException($"line {line}: abs needs a number") };
            case "round":
            {
                long digits = ToLong(Kw("precision", 0, 0L), line);
                return Math.Round(ToDouble(v), (int)digits, MidpointRounding.ToEven);
            }
            case "replace": return ReplaceCount(Str(v), Str(Kw("old", 0, "")), Str(Kw("new", 1, "")), args.Count > 2 ? ToLong(args[2], line) : -1);
            case "indent":
            {
                long width = ToLong(Kw("width", 0, 4L), line);
                bool first = Truthy(Kw("first", 1, false));
                string pad = new(' ', (int)width);
                string[] lines = Str(v).Split('\n');
                return string.Join("\n", lines.Select((l, i) => (i == 0 && !first) || l.Length == 0 ? l : pad + l));
            }
            case "unique":
            {
                var seen = new List<object?>();
                foreach (object? x in Items(v)) if (!seen.Any(y => Equal(x, y))) seen.Add(x);
                return seen;
            }
            case "sort":
            {
                object? attribute = Kw("attribute", 2, null);
                bool reverse = Truthy(Kw("reverse", 0, false));
                var l = Items(v).ToList();
                l.Sort((a, b) => Compare(attribute is string at ? GetItem(a, at, line) : a, attribute is string bt ? GetItem(b, bt, line) : b, line));
                if (reverse) l.Reverse();
                return l;
            }
            case "dictsort":
                if (v is not OrderedDictionary<string, object?> ds) throw new TemplateException($"line {line}: dictsort needs a dict");
                return ds.OrderBy(kv => kv.Key, StringComparer.OrdinalIgnoreCase).Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList();
            case "map":
            {
                object? attribute = Kw("attribute", -1, null);
                if (attribute is string a) return Items(v).Select(x => GetItem(x, a, line) is Undefined && Kw("default", -1, null) is { } d ? d : GetItem(x, a, line)).ToList();
                if (args.Count > 0 && args[0] is string filter)
                    return Items(v).Select(x => ApplyFilter(new Filter(new Literal(x, line), filter, f.Args.Skip(1).ToList(), [], line), x, scope)).ToList();
                throw new TemplateException($"line {line}: map needs attribute= or a filter name");
            }
            case "selectattr" or "rejectattr":
            {
                string attribute = Str(args.Count > 0 ? args[0] : throw new TemplateException($"line {line}: {f.Id} needs an attribute name"));
                bool select = f.Id == "selectattr";
                return Items(v).Where(x =>
                {
                    object? value = GetItem(x, attribute, line);
                    bool ok = args.Count > 1
                        ? ApplyTest(new Test(new Literal(value, line), Str(args[1]), [], false, line), value, args.Skip(2).ToList())
                        : Truthy(value);
                    return ok == select;
                }).ToList();
            }
            case "select" or "reject":
            {
                bool select = f.Id == "select";
                return Items(v).Where(x =>
                {
                    bool ok = args.Count > 0 ? ApplyTest(new Test(new Literal(x, line), Str(args[0]), [], false, line), x, args.Skip(1).ToList()) : Truthy(x);
                    return ok == select;
                }).ToList();
            }
            case "wordcount": return (long)Str(v).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
            default:
                throw new TemplateException($"line {line}: the filter '{f.Id}' is not supported");
        }
    }

    private static bool ApplyTest(Test t, object? v, List<object?> args) => t.Id switch
    {
        "defined" => v is not Undefined,
        "undefined" => v is Undefined,
        "none" => v is null,
        "string" => v is string,
        "number" => v is long or double,
        "integer" => v is long,
        "float" => v is double,
        "boolean" => v is bool,
        "true" => v is true,
        "false" => v is false,
        "mapping" => v is OrderedDictionary<string, object?> or Namespace,
        "iterable" => v is List<object?> or string or OrderedDictionary<string, object?>,
        "sequence" => v is List<object?> or string,
        "callable" => v is Callable,
        "odd" => v is long l && l % 2 != 0,
        "even" => v is long l && l % 2 == 0,
        "lower" => v is string s && s == s.ToLowerInvariant(),
        "upper" => v is string s && s == s.ToUpperInvariant(),
        "equalto" or "eq" or "==" or "sameas" => args.Count > 0 && Equal(v, args[0]),
        "ne" or "!=" => args.Count > 0 && !Equal(v, args[0]),
        "in" => args.Count > 0 && Contains(args[0], v, t.Line),
        _ => throw new TemplateException($"line {t.Line}: the test '{t.Id}' is not supported"),
    };

    // Python's strftime codes that chat templates use.
    private static string Strftime(DateTime now, string format)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; ++i)
        {
            if (format[i] != '%' || i + 1 >= format.Length) { sb.Append(format[i]); continue; }
            char c = format[++i];
            sb.Append(c switch
            {
                'd' => now.ToString("dd", CultureInfo.InvariantCulture), 'm' => now.ToString("MM", CultureInfo.InvariantCulture),
                'Y' => now.ToString("yyyy", CultureInfo.InvariantCulture), 'y' => now.ToString("yy", CultureInfo.InvariantCulture),
                'b' => now.ToString("MMM", CultureInfo.InvariantCulture), 'B' => now.ToString("MMMM", CultureInfo.InvariantCulture),
                'a' => now.ToString("ddd", CultureInfo.InvariantCulture), 'A' => now.ToString("dddd", CultureInfo.InvariantCulture),
                'H' => now.ToString("HH", CultureInfo.InvariantCulture), 'M' => now.ToString("mm", CultureInfo.InvariantCulture),
                'S' => now.ToString("ss", CultureInfo.InvariantCulture), 'j' => now.DayOfYear.ToString("000", CultureInfo.InvariantCulture),
                'e' => now.Day.ToString(CultureInfo.InvariantCulture).PadLeft(2), '%' => "%",
                _ => "%" + c,
            });
        }
        return sb.ToString();
    }

    // ---- JSON in ----

    internal static object? FromJson(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => new OrderedDictionary<string, object?>(o.Select(kv => new KeyValuePair<string, object?>(kv.Key, FromJson(kv.Value))), StringComparer.Ordinal),
        JsonArray a => a.Select(FromJson).ToList(),
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            JsonValueKind.Number => v.TryGetValue(out long l) ? l : v.TryGetValue(out int i) ? (long)i : v.GetValue<double>(),
            _ => null,
        },
        _ => null,
    };
}
