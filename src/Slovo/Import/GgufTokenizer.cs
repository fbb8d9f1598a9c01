using Slovo.Tokenizers;
using Slovo.Tokenizers.Decoders;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.Normalizers;
using Slovo.Tokenizers.PreTokenizers;
using Slovo.Torch.Serialization;

namespace Slovo.Import;

/// <summary>
/// The tokenizer a GGUF file carries in its metadata, as a Slovo <see cref="Tokenizer"/>: tokenizer.ggml.model "llama"
/// (SentencePiece BPE: merges ranked by the merged piece's score, byte fallback, "▁" for spaces) or "gpt2" (byte-level BPE with
/// its merges, split by the regex its tokenizer.ggml.pre names); control tokens become special added tokens.
/// </summary>
public static class GgufTokenizer
{
    // Token types of tokenizer.ggml.token_type.
    private const int Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6;

    /// <summary>Llama 3's split before byte-level BPE (tokenizer.ggml.pre "llama-bpe").</summary>
    public const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Qwen2's split before byte-level BPE (tokenizer.ggml.pre "qwen2"): digits one by one.</summary>
    public const string Qwen2Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Reads the tokenizer of <paramref name="file"/>; a model or pre-tokenizer Slovo does not know is an error naming it.</summary>
    public static Tokenizer Read(GgufFile file)
    {
        string model = file.GetString("tokenizer.ggml.model") ?? throw new GgufFormatException(file.Path, "no tokenizer.ggml.model; the file carries no tokenizer");
        string[] tokens = file.GetArray<string>("tokenizer.ggml.tokens") ?? throw new GgufFormatException(file.Path, "no tokenizer.ggml.tokens");
        int[] types = file.GetArray<int>("tokenizer.ggml.token_type") ?? Enumerable.Repeat(Normal, tokens.Length).ToArray();
        if (types.Length != tokens.Length) throw new GgufFormatException(file.Path, $"{types.Length} token types for {tokens.Length} tokens");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Length; ++i) vocab.TryAdd(tokens[i], i);
        var added = new List<AddedToken>();
        for (int i = 0; i < tokens.Length; ++i)
            if (types[i] is Control or UserDefined && tokens[i].Length > 0 && vocab[tokens[i]] == i) added.Add(new AddedToken(tokens[i], i, Special: types[i] == Control));
        switch (model)
        {
            case "llama":
            {
                float[] scores = file.GetArray<float>("tokenizer.ggml.scores") ?? throw new GgufFormatException(file.Path, "a 'llama' tokenizer without tokenizer.ggml.scores");
                if (scores.Length != tokens.Length) throw new GgufFormatException(file.Path, $"{scores.Length} scores for {tokens.Length} tokens");
                var merges = new List<(string Left, string Right, float Score, int Id)>();
                for (int id = 0; id < tokens.Length; ++id)
                {
                    string t = tokens[id];
                    if (types[id] != Normal || t.Length < 2) continue;
                    for (int k = 1; k < t.Length; ++k)
                    {
                        if (char.IsLowSurrogate(t[k])) continue;
                        if (vocab.ContainsKey(t[..k]) && vocab.ContainsKey(t[k..])) merges.Add((t[..k], t[k..], scores[id], id));
                    }
                }
                var ranked = merges.OrderByDescending(m => m.Score).ThenBy(m => m.Id).ThenBy(m => vocab[m.Left]).Select(m => (m.Left, m.Right)).ToList();
                long? unkId = file.GetInteger("tokenizer.ggml.unknown_token_id");
                int unk = unkId is { } u && u >= 0 && u < tokens.Length ? (int)u : Array.IndexOf(types, Unknown);
                bool spacePrefix = file.GetBool("tokenizer.ggml.add_space_prefix") ?? true;
                var bpe = new Bpe(vocab, ranked, unk >= 0 ? tokens[unk] : null, fuseUnk: true, byteFallback: true);
                INormalizer replace = new ReplaceNormalizer(" ", "▁");
                return new Tokenizer(bpe, added)
                {
                    Normalizer = spacePrefix ? new SequenceNormalizer([new PrependNormalizer("▁"), replace]) : replace,
                    Decoder = new SequenceDecoder([new ReplaceDecoder("▁", " "), new ByteFallbackDecoder(), new FuseDecoder(), .. spacePrefix ? new IDecoder[] { new StripDecoder(' ', 1, 0) } : []]),
                };
            }
            case "gpt2":
            {
                string[] mergeLines = file.GetArray<string>("tokenizer.ggml.merges") ?? throw new GgufFormatException(file.Path, "a 'gpt2' tokenizer without tokenizer.ggml.merges");
                var merges = mergeLines.Select((line, i) => line.Split(' ') is { Length: 2 } p ? (p[0], p[1])
                    : throw new GgufFormatException(file.Path, $"merge {i + 1} '{line}' is not two tokens")).ToList();
                string pre = file.GetString("tokenizer.ggml.pre") ?? "default";
                (IPreTokenizer preTokenizer, bool ignoreMerges) = pre switch
                {
                    "default" or "gpt-2" or "gpt2" => ((IPreTokenizer)new ByteLevelPreTokenizer(addPrefixSpace: false), false),
                    "llama-bpe" or "llama3" or "smaug-bpe" => (new SequencePreTokenizer([new SplitPreTokenizer(Llama3Pattern), new ByteLevelPreTokenizer(false, useRegex: false)]), true),
                    "qwen2" or "deepseek-r1-qwen" => (new SequencePreTokenizer([new SplitPreTokenizer(Qwen2Pattern), new ByteLevelPreTokenizer(false, useRegex: false)]), false),
                    "smollm" => (new SequencePreTokenizer([new DigitsPreTokenizer(), new ByteLevelPreTokenizer(addPrefixSpace: false)]), false),
                    _ => throw new NotSupportedException($"{file.Path}: tokenizer.ggml.pre '{pre}' is not one Slovo reads (default, gpt-2, llama-bpe, qwen2, smollm)"),
                };
                return new Tokenizer(new Bpe(vocab, merges, ignoreMerges: ignoreMerges), added) { PreTokenizer = preTokenizer, Decoder = new ByteLevelDecoder() };
            }
            default:
                throw new NotSupportedException($"{file.Path}: tokenizer.ggml.model '{model}' is not one Slovo reads (llama, gpt2)");
        }
    }

    /// <summary>
    /// The metadata that describes <paramref name="tokenizer"/> in a GGUF file: a byte-fallback BPE with "▁" spaces is written as
    /// "llama" (scores from the merge ranks), a byte-level BPE as "gpt2" (with its merges and the pre-tokenizer's name).
    /// </summary>
    public static List<KeyValuePair<string, object>> Metadata(Tokenizer tokenizer, int vocabSize)
    {
        if (tokenizer.Model is not Bpe bpe) throw new NotSupportedException($"a {tokenizer.Model.GetType().Name} tokenizer has no GGUF form (BPE tokenizers do)");
        var tokens = new string[vocabSize];
        var types = new int[vocabSize];
        for (int i = 0; i < vocabSize; ++i)
        {
            tokens[i] = tokenizer.IdToToken(i) ?? $"[PAD{i}]";
            types[i] = tokenizer.IdToToken(i) is null ? Unused : Normal;
        }
        foreach (AddedToken a in tokenizer.AddedTokens)
            if (a.Id < vocabSize) types[a.Id] = a.Special ? Control : UserDefined;
        var meta = new List<KeyValuePair<string, object>>();
        if (bpe.ByteFallback)
        {
            // Scores that reproduce the merge order: a merged piece scores by its rank (earlier: higher); single characters lowest.
            var scores = new float[vocabSize];
            Array.Fill(scores, -1e6f);
            for (int rank = 0; rank < bpe.Merges.Count; ++rank)
            {
                (string l, string r) = bpe.Merges[rank];
                if (bpe.TokenToId(l + r) is int id && id < vocabSize && scores[id] == -1e6f) scores[id] = -rank;
            }
            for (int i = 0; i < vocabSize; ++i)
            {
                if (ByteFallbackDecoder.ByteOf(tokens[i]) is not null) types[i] = Byte;
                if (bpe.UnkToken == tokens[i]) types[i] = Unknown;
            }
            meta.Add(new("tokenizer.ggml.model", "llama"));
            meta.Add(new("tokenizer.ggml.tokens", tokens));
            meta.Add(new("tokenizer.ggml.scores", scores));
            meta.Add(new("tokenizer.ggml.token_type", types));
            meta.Add(new("tokenizer.ggml.add_space_prefix", tokenizer.Normalizer is SequenceNormalizer { Steps: [PrependNormalizer, ..] }));
            if (bpe.UnkToken is { } unk) meta.Add(new("tokenizer.ggml.unknown_token_id", (uint)bpe.TokenToId(unk)!.Value));
        }
        else
        {
            string pre = tokenizer.PreTokenizer switch
            {
                ByteLevelPreTokenizer { UseRegex: true } => "gpt-2",
                SequencePreTokenizer { Steps: [SplitPreTokenizer { Pattern: Llama3Pattern }, ..] } => "llama-bpe",
                SequencePreTokenizer { Steps: [SplitPreTokenizer { Pattern: Qwen2Pattern }, ..] } => "qwen2",
                SequencePreTokenizer { Steps: [DigitsPreTokenizer, ByteLevelPreTokenizer, ..] } => "smollm",
                _ => throw new NotSupportedException("this tokenizer's pre-tokenizer has no GGUF name (GPT-2's, Llama 3's, Qwen2's and SmolLM's have)"),
            };
            meta.Add(new("tokenizer.ggml.model", "gpt2"));
            meta.Add(new("tokenizer.ggml.pre", pre));
            meta.Add(new("tokenizer.ggml.tokens", tokens));
            meta.Add(new("tokenizer.ggml.token_type", types));
            meta.Add(new("tokenizer.ggml.merges", bpe.Merges.Select(m => m.Left + " " + m.Right).ToArray()));
        }
        return meta;
    }
}
