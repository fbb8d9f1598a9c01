using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Slovo.Tokenizers.Decoders;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.Normalizers;
using Slovo.Tokenizers.PreTokenizers;
using Slovo.Tokenizers.Processors;

namespace Slovo.Tokenizers.Serialization;

/// <summary>
/// Reads and writes Hugging Face's <c>tokenizer.json</c> for the components Slovo implements (BPE incl. byte-level,
/// WordPiece, WordLevel models; their usual normalizers, pre-tokenizers, template post-processing and decoders).
/// A component Slovo does not implement is an error that names it.
/// </summary>
public static class TokenizerJson
{
    /// <summary>Loads a tokenizer.json file.</summary>
    public static Tokenizer Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"tokenizer file not found: {Path.GetFullPath(path)}", path);
        string text;
        try { text = File.ReadAllText(path, new UTF8Encoding(false, throwOnInvalidBytes: true)); }
        catch (DecoderFallbackException) { throw new InvalidDataException($"{path}: not valid UTF-8"); }
        try { return Parse(text); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
        catch (NotSupportedException e) { throw new NotSupportedException($"{path}: {e.Message}", e); }
    }

    /// <summary>Builds a tokenizer from tokenizer.json text.</summary>
    public static Tokenizer Parse(string json)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(json); }
        catch (JsonException e) { throw new InvalidDataException($"not valid JSON (line {e.LineNumber + 1}): {e.Message}", e); }
        if (root is not JsonObject obj) throw new InvalidDataException("the top level must be a JSON object");
        JsonObject model = obj["model"] as JsonObject ?? throw new InvalidDataException("'model' is missing");
        var added = new List<AddedToken>();
        if (obj["added_tokens"] is JsonArray addedArray)
            foreach (JsonNode? a in addedArray)
                added.Add(new AddedToken(Str(a, "content"), Int(a, "id"), a?["special"]?.GetValue<bool>() ?? false)
                {
                    LStrip = OptBool(a, "lstrip", false), RStrip = OptBool(a, "rstrip", false), Normalized = OptBool(a, "normalized", false),
                    SingleWord = OptBool(a, "single_word", false),
                });
        IModel m = ReadModel(model);
        (TemplateProcessing? template, bool trim) = ReadPostProcessor(obj["post_processor"], added, m);
        return new Tokenizer(m, added)
        {
            Normalizer = ReadNormalizer(obj["normalizer"]),
            PreTokenizer = ReadPreTokenizer(obj["pre_tokenizer"]),
            PostProcessor = template,
            TrimOffsets = trim,
            Decoder = ReadDecoder(obj["decoder"]),
        };
    }

    private static string Str(JsonNode? n, string key) =>
        n?[key] is JsonValue v && v.TryGetValue(out string? s) ? s : throw new InvalidDataException($"'{key}' must be a string in {Short(n)}");

    private static int Int(JsonNode? n, string key) =>
        n?[key] is JsonValue v && v.TryGetValue(out int i) ? i : throw new InvalidDataException($"'{key}' must be an integer in {Short(n)}");

    private static string? OptStr(JsonNode? n, string key) => n?[key] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    private static bool OptBool(JsonNode? n, string key, bool fallback) => n?[key] is JsonValue v && v.TryGetValue(out bool b) ? b : fallback;

    private static string Short(JsonNode? n)
    {
        string s = n?.ToJsonString() ?? "null";
        return s.Length > 80 ? s[..80] + "..." : s;
    }

    private static string TypeOf(JsonNode n) => Str(n, "type");

    private static char Replacement(JsonNode n) => OptStr(n, "replacement") is { Length: 1 } r ? r[0] : '▁';

    // Metaspace's prepend_scheme; older files give add_prefix_space instead.
    private static PrependScheme Scheme(JsonNode n) => OptStr(n, "prepend_scheme") switch
    {
        "first" => PrependScheme.First,
        "never" => PrependScheme.Never,
        "always" => PrependScheme.Always,
        null => OptBool(n, "add_prefix_space", true) ? PrependScheme.Always : PrependScheme.Never,
        var other => throw new NotSupportedException($"Metaspace prepend_scheme '{other}' is not supported"),
    };

    private static string SchemeName(PrependScheme s) => s switch { PrependScheme.First => "first", PrependScheme.Never => "never", _ => "always" };

    private static Dictionary<string, int> ReadVocab(JsonNode? n)
    {
        if (n is not JsonObject o) throw new InvalidDataException("model 'vocab' must be an object of token → id");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach ((string token, JsonNode? id) in o)
            vocab[token] = id is JsonValue v && v.TryGetValue(out int i) ? i : throw new InvalidDataException($"vocab entry '{token}' has a non-integer id");
        return vocab;
    }

    private static IModel ReadModel(JsonObject m)
    {
        string type = m["type"] is null ? (m["merges"] is not null ? "BPE" : "WordLevel") : TypeOf(m);
        try
        {
            switch (type)
            {
                case "BPE":
                {
                    if (m["dropout"] is JsonValue d && d.TryGetValue(out double p) && p > 0)
                        throw new NotSupportedException("BPE dropout is not supported");
                    var merges = new List<(string, string)>();
                    foreach (JsonNode? item in m["merges"] as JsonArray ?? throw new InvalidDataException("BPE 'merges' must be an array"))
                    {
                        if (item is JsonArray pair && pair.Count == 2) merges.Add((pair[0]!.GetValue<string>(), pair[1]!.GetValue<string>()));
                        else if (item is JsonValue sv && sv.TryGetValue(out string? line) && line.Split(' ') is { Length: 2 } parts)
                            merges.Add((parts[0], parts[1]));
                        else throw new InvalidDataException($"merge {merges.Count + 1} is neither \"a b\" nor [\"a\", \"b\"]: {Short(item)}");
                    }
                    return new Bpe(ReadVocab(m["vocab"]), merges, OptStr(m, "unk_token"), NullIfEmpty(OptStr(m, "continuing_subword_prefix")),
                        NullIfEmpty(OptStr(m, "end_of_word_suffix")), OptBool(m, "fuse_unk", false), OptBool(m, "byte_fallback", false),
                        OptBool(m, "ignore_merges", false));
                }
                case "WordPiece":
                    return new WordPiece(ReadVocab(m["vocab"]), OptStr(m, "unk_token") ?? "[UNK]", OptStr(m, "continuing_subword_prefix") ?? "##",
                        m["max_input_chars_per_word"] is JsonValue mx && mx.TryGetValue(out int max) ? max : 100);
                case "WordLevel":
                    return new WordLevel(ReadVocab(m["vocab"]), OptStr(m, "unk_token"));
                case "Unigram":
                {
                    var pieces = new List<(string, double)>();
                    foreach (JsonNode? item in m["vocab"] as JsonArray ?? throw new InvalidDataException("Unigram 'vocab' must be an array of [piece, score]"))
                        pieces.Add(item is JsonArray pair && pair.Count == 2 && pair[0] is JsonValue p0 && p0.TryGetValue(out string? piece)
                                   && pair[1] is JsonValue p1 && p1.TryGetValue(out double score)
                            ? (piece, score) : throw new InvalidDataException($"Unigram piece {pieces.Count} is not [piece, score]: {Short(item)}"));
                    int? unk = m["unk_id"] is JsonValue u && u.TryGetValue(out int ui) ? ui : null;
                    return new Unigram(pieces, unk, OptBool(m, "byte_fallback", false));
                }
                default:
                    throw new NotSupportedException($"model type '{type}' is not supported (BPE, WordPiece, WordLevel, Unigram are)");
            }
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"model: {e.Message}", e);
        }
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static INormalizer? ReadNormalizer(JsonNode? n)
    {
        if (n is null) return null;
        string type = TypeOf(n);
        return type switch
        {
            "NFC" => new UnicodeNormalizer(NormalizationForm.FormC),
            "NFD" => new UnicodeNormalizer(NormalizationForm.FormD),
            "NFKC" => new UnicodeNormalizer(NormalizationForm.FormKC),
            "NFKD" => new UnicodeNormalizer(NormalizationForm.FormKD),
            "Lowercase" => new LowercaseNormalizer(),
            "BertNormalizer" => new BertNormalizer(OptBool(n, "clean_text", true), OptBool(n, "handle_chinese_chars", true),
                n["strip_accents"] is JsonValue sa ? sa.GetValue<bool>() : null, OptBool(n, "lowercase", true)),
            "StripAccents" => new StripAccentsNormalizer(),
            "Prepend" => new PrependNormalizer(Str(n, "prepend")),
            "Replace" => new ReplaceNormalizer(
                n["pattern"]?["String"]?.GetValue<string>() ?? throw new NotSupportedException("only string patterns are supported in Replace normalizers"),
                Str(n, "content")),
            "Sequence" => new SequenceNormalizer((n["normalizers"] as JsonArray ?? throw new InvalidDataException("Sequence needs 'normalizers'"))
                .Select(x => ReadNormalizer(x) ?? throw new InvalidDataException("null normalizer in a Sequence")).ToList()),
            _ => throw new NotSupportedException($"normalizer type '{type}' is not supported"),
        };
    }

    private static IPreTokenizer? ReadPreTokenizer(JsonNode? n)
    {
        if (n is null) return null;
        string type = TypeOf(n);
        return type switch
        {
            "Whitespace" => new WhitespacePreTokenizer(),
            "WhitespaceSplit" => new WhitespaceSplitPreTokenizer(),
            "BertPreTokenizer" => new BertPreTokenizer(),
            "Punctuation" when (OptStr(n, "behavior") ?? "Isolated") == "Isolated" => new PunctuationPreTokenizer(),
            "Digits" when OptBool(n, "individual_digits", false) => new DigitsPreTokenizer(),
            "ByteLevel" => new ByteLevelPreTokenizer(OptBool(n, "add_prefix_space", true), OptBool(n, "use_regex", true)),
            "Metaspace" => new MetaspacePreTokenizer(Replacement(n), Scheme(n), OptBool(n, "split", true)),
            "Split" => new SplitPreTokenizer(
                n["pattern"]?["Regex"]?.GetValue<string>() ?? n["pattern"]?["String"]?.GetValue<string>() ?? throw new InvalidDataException($"Split needs a pattern: {Short(n)}"),
                (OptStr(n, "behavior") ?? "Isolated") switch
                {
                    "Isolated" => SplitBehavior.Isolated, "Removed" => SplitBehavior.Removed, "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
                    "MergedWithNext" => SplitBehavior.MergedWithNext, "Contiguous" => SplitBehavior.Contiguous,
                    var b => throw new NotSupportedException($"Split behavior '{b}' is not supported"),
                },
                OptBool(n, "invert", false), isRegex: n["pattern"]?["Regex"] is not null),
            "Sequence" => new SequencePreTokenizer((n["pretokenizers"] as JsonArray ?? throw new InvalidDataException("Sequence needs 'pretokenizers'"))
                .Select(x => ReadPreTokenizer(x) ?? throw new InvalidDataException("null pre-tokenizer in a Sequence")).ToList()),
            _ => throw new NotSupportedException($"pre-tokenizer '{Short(n)}' is not supported"),
        };
    }

    private static (TemplateProcessing?, bool Trim) ReadPostProcessor(JsonNode? n, List<AddedToken> added, IModel model)
    {
        if (n is null) return (null, false);
        string type = TypeOf(n);
        switch (type)
        {
            case "ByteLevel":
                return (null, OptBool(n, "trim_offsets", true));
            case "Sequence":
            {
                TemplateProcessing? template = null;
                bool trim = false;
                foreach (JsonNode? step in n["processors"] as JsonArray ?? throw new InvalidDataException("Sequence needs 'processors'"))
                {
                    (TemplateProcessing? t, bool tr) = ReadPostProcessor(step, added, model);
                    template ??= t;
                    trim |= tr;
                }
                return (template, trim);
            }
            case "BertProcessing":
            {
                (string, int) Pair(string key) => n[key] is JsonArray a && a.Count == 2
                    ? (a[0]!.GetValue<string>(), a[1]!.GetValue<int>()) : throw new InvalidDataException($"BertProcessing needs '{key}' as [token, id]");
                return (new TemplateProcessing([Pair("cls")], [Pair("sep")]), false);
            }
            case "TemplateProcessing":
            {
                var ids = new Dictionary<string, int>(StringComparer.Ordinal);
                if (n["special_tokens"] is JsonObject specials)
                    foreach ((string name, JsonNode? spec) in specials)
                        ids[name] = (spec?["ids"] as JsonArray)?.FirstOrDefault()?.GetValue<int>() ?? throw new InvalidDataException($"special token '{name}' has no ids");
                var before = new List<(string, int)>();
                var after = new List<(string, int)>();
                bool seenA = false;
                foreach (JsonNode? piece in n["single"] as JsonArray ?? throw new InvalidDataException("TemplateProcessing needs 'single'"))
                {
                    if (piece?["Sequence"] is not null) { seenA = true; continue; }
                    string id = piece?["SpecialToken"]?["id"]?.GetValue<string>() ?? throw new InvalidDataException($"template piece {Short(piece)} is not understood");
                    int tokenId = ids.TryGetValue(id, out int v) ? v : added.FirstOrDefault(a => a.Content == id)?.Id ?? model.TokenToId(id)
                        ?? throw new InvalidDataException($"template token '{id}' has no id");
                    (seenA ? after : before).Add((id, tokenId));
                }
                return (new TemplateProcessing(before, after), false);
            }
            default:
                throw new NotSupportedException($"post-processor type '{type}' is not supported");
        }
    }

    private static IDecoder? ReadDecoder(JsonNode? n)
    {
        if (n is null) return null;
        string type = TypeOf(n);
        return type switch
        {
            "ByteLevel" => new ByteLevelDecoder(),
            "WordPiece" => new WordPieceDecoder(OptStr(n, "prefix") ?? "##", OptBool(n, "cleanup", true)),
            "BPEDecoder" => new BpeSuffixDecoder(OptStr(n, "suffix") ?? "</w>"),
            "Replace" => new ReplaceDecoder(n["pattern"]?["String"]?.GetValue<string>() ?? throw new NotSupportedException("only string patterns are supported in Replace decoders"), Str(n, "content")),
            "ByteFallback" => new ByteFallbackDecoder(),
            "Fuse" => new FuseDecoder(),
            "Strip" => new StripDecoder(Str(n, "content") is { Length: 1 } c ? c[0] : throw new InvalidDataException("Strip's content must be one character"),
                n["start"]?.GetValue<int>() ?? 0, n["stop"]?.GetValue<int>() ?? 0),
            "Metaspace" => new MetaspaceDecoder(Replacement(n), Scheme(n), OptBool(n, "split", true)),
            "Sequence" => new SequenceDecoder((n["decoders"] as JsonArray ?? throw new InvalidDataException("Sequence needs 'decoders'"))
                .Select(x => ReadDecoder(x) ?? throw new InvalidDataException("null decoder in a Sequence")).ToList()),
            _ => throw new NotSupportedException($"decoder type '{type}' is not supported"),
        };
    }

    /// <summary>Writes the tokenizer as tokenizer.json, atomically (temporary file, then rename).</summary>
    public static void Save(Tokenizer tokenizer, string path)
    {
        string json = ToJson(tokenizer);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = full + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllText(temp, json, new UTF8Encoding(false));
        File.Move(temp, full, overwrite: true);
    }

    /// <summary>The tokenizer.json text.</summary>
    public static string ToJson(Tokenizer t)
    {
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(t.AddedTokens.OrderBy(a => a.Id).Select(a => (JsonNode)new JsonObject
            {
                ["id"] = a.Id, ["content"] = a.Content, ["single_word"] = a.SingleWord, ["lstrip"] = a.LStrip, ["rstrip"] = a.RStrip,
                ["normalized"] = a.Normalized, ["special"] = a.Special,
            }).ToArray()),
            ["normalizer"] = WriteNormalizer(t.Normalizer),
            ["pre_tokenizer"] = WritePreTokenizer(t.PreTokenizer),
            ["post_processor"] = WritePostProcessor(t),
            ["decoder"] = WriteDecoder(t.Decoder),
            ["model"] = WriteModel(t.Model),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    private static JsonObject VocabObject(IModel m)
    {
        var o = new JsonObject();
        foreach ((string token, int id) in m.Vocab.OrderBy(kv => kv.Value)) o[token] = id;
        return o;
    }

    private static JsonNode WriteModel(IModel m) => m switch
    {
        Bpe b => new JsonObject
        {
            ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = b.UnkToken, ["continuing_subword_prefix"] = b.ContinuingSubwordPrefix,
            ["end_of_word_suffix"] = b.EndOfWordSuffix, ["fuse_unk"] = b.FuseUnk, ["byte_fallback"] = b.ByteFallback,
            ["ignore_merges"] = b.IgnoreMerges, ["vocab"] = VocabObject(b),
            ["merges"] = new JsonArray(b.Merges.Select(x => (JsonNode)new JsonArray(x.Left, x.Right)).ToArray()),
        },
        WordPiece w => new JsonObject
        {
            ["type"] = "WordPiece", ["unk_token"] = w.UnkToken, ["continuing_subword_prefix"] = w.ContinuingSubwordPrefix,
            ["max_input_chars_per_word"] = w.MaxInputCharsPerWord, ["vocab"] = VocabObject(w),
        },
        WordLevel wl => new JsonObject { ["type"] = "WordLevel", ["vocab"] = VocabObject(wl), ["unk_token"] = wl.UnkToken },
        Unigram u => new JsonObject
        {
            ["type"] = "Unigram", ["unk_id"] = u.UnkId, ["byte_fallback"] = u.ByteFallback,
            ["vocab"] = new JsonArray(u.Pieces.Select(p => (JsonNode)new JsonArray(p.Piece, p.Score)).ToArray()),
        },
        _ => throw new NotSupportedException($"model {m.GetType().Name} cannot be written to tokenizer.json"),
    };

    private static JsonNode? WriteNormalizer(INormalizer? n) => n switch
    {
        null => null,
        UnicodeNormalizer u => new JsonObject
        {
            ["type"] = u.Form switch
            {
                NormalizationForm.FormC => "NFC", NormalizationForm.FormD => "NFD", NormalizationForm.FormKC => "NFKC", _ => "NFKD",
            },
        },
        LowercaseNormalizer => new JsonObject { ["type"] = "Lowercase" },
        BertNormalizer b => new JsonObject
        {
            ["type"] = "BertNormalizer", ["clean_text"] = b.CleanText, ["handle_chinese_chars"] = b.HandleChineseChars, ["strip_accents"] = b.StripAccents,
            ["lowercase"] = b.Lowercase,
        },
        StripAccentsNormalizer => new JsonObject { ["type"] = "StripAccents" },
        ReplaceNormalizer r => new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = r.Pattern }, ["content"] = r.Content },
        PrependNormalizer p => new JsonObject { ["type"] = "Prepend", ["prepend"] = p.Prepend },
        SequenceNormalizer s => new JsonObject { ["type"] = "Sequence", ["normalizers"] = new JsonArray(s.Steps.Select(WriteNormalizer).ToArray()) },
        _ => throw new NotSupportedException($"normalizer {n.GetType().Name} cannot be written to tokenizer.json"),
    };

    private static JsonNode? WritePreTokenizer(IPreTokenizer? p) => p switch
    {
        null => null,
        WhitespacePreTokenizer => new JsonObject { ["type"] = "Whitespace" },
        WhitespaceSplitPreTokenizer => new JsonObject { ["type"] = "WhitespaceSplit" },
        BertPreTokenizer => new JsonObject { ["type"] = "BertPreTokenizer" },
        PunctuationPreTokenizer => new JsonObject { ["type"] = "Punctuation", ["behavior"] = "Isolated" },
        DigitsPreTokenizer => new JsonObject { ["type"] = "Digits", ["individual_digits"] = true },
        ByteLevelPreTokenizer b => new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = b.AddPrefixSpace, ["trim_offsets"] = true, ["use_regex"] = b.UseRegex },
        MetaspacePreTokenizer m => new JsonObject { ["type"] = "Metaspace", ["replacement"] = m.Replacement.ToString(), ["prepend_scheme"] = SchemeName(m.Scheme), ["split"] = m.SplitPieces },
        SplitPreTokenizer sp => new JsonObject
        {
            ["type"] = "Split", ["pattern"] = new JsonObject { [sp.IsRegex ? "Regex" : "String"] = sp.Pattern }, ["behavior"] = sp.Behavior.ToString(), ["invert"] = sp.Invert,
        },
        SequencePreTokenizer s => new JsonObject { ["type"] = "Sequence", ["pretokenizers"] = new JsonArray(s.Steps.Select(WritePreTokenizer).ToArray()) },
        _ => throw new NotSupportedException($"pre-tokenizer {p.GetType().Name} cannot be written to tokenizer.json"),
    };

    private static JsonNode? WritePostProcessor(Tokenizer t)
    {
        if (t.PostProcessor is not null and not TemplateProcessing)
            throw new NotSupportedException($"a {t.PostProcessor.GetType().Name} post-processor has no tokenizer.json form; use TemplateProcessing");
        if (t.PostProcessor is TemplateProcessing tp)
        {
            JsonNode Special((string Token, int Id) s, int typeId) => new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = s.Token, ["type_id"] = typeId } };
            JsonNode Seq(string id, int typeId) => new JsonObject { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = typeId } };
            var single = new JsonArray([.. tp.Before.Select(s => Special(s, 0)), Seq("A", 0), .. tp.After.Select(s => Special(s, 0))]);
            var pair = new JsonArray([.. tp.Before.Select(s => Special(s, 0)), Seq("A", 0), .. tp.After.Select(s => Special(s, 0)),
                Seq("B", 1), .. tp.After.Select(s => Special(s, 1))]);
            var specials = new JsonObject();
            foreach ((string token, int id) in tp.Before.Concat(tp.After).DistinctBy(x => x.Token))
                specials[token] = new JsonObject { ["id"] = token, ["ids"] = new JsonArray(id), ["tokens"] = new JsonArray(token) };
            return new JsonObject { ["type"] = "TemplateProcessing", ["single"] = single, ["pair"] = pair, ["special_tokens"] = specials };
        }
        if (t.PreTokenizer is ByteLevelPreTokenizer b)
            return new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = b.AddPrefixSpace, ["trim_offsets"] = t.TrimOffsets, ["use_regex"] = b.UseRegex };
        return null;
    }

    private static JsonNode? WriteDecoder(IDecoder? d) => d switch
    {
        null => null,
        ByteLevelDecoder => new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
        WordPieceDecoder w => new JsonObject { ["type"] = "WordPiece", ["prefix"] = w.Prefix, ["cleanup"] = w.Cleanup },
        BpeSuffixDecoder s => new JsonObject { ["type"] = "BPEDecoder", ["suffix"] = s.Suffix },
        SpaceJoinDecoder => null,
        ReplaceDecoder r => new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = r.Pattern }, ["content"] = r.Content },
        ByteFallbackDecoder => new JsonObject { ["type"] = "ByteFallback" },
        FuseDecoder => new JsonObject { ["type"] = "Fuse" },
        StripDecoder st => new JsonObject { ["type"] = "Strip", ["content"] = st.Content.ToString(), ["start"] = st.Start, ["stop"] = st.Stop },
        MetaspaceDecoder m => new JsonObject { ["type"] = "Metaspace", ["replacement"] = m.Replacement.ToString(), ["prepend_scheme"] = SchemeName(m.Scheme), ["split"] = m.SplitPieces },
        SequenceDecoder sq => new JsonObject { ["type"] = "Sequence", ["decoders"] = new JsonArray(sq.Steps.Select(WriteDecoder).ToArray()) },
        _ => throw new NotSupportedException($"decoder {d.GetType().Name} cannot be written to tokenizer.json"),
    };
}
