using Slovo.Tokenizers.Decoders;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.Normalizers;
using Slovo.Tokenizers.PreTokenizers;
using Slovo.Tokenizers.Processors;

namespace Slovo.Tokenizers.Serialization;

/// <summary>
/// A BERT tokenizer from a vocab.txt (one token per line, the line number its id), as Hugging Face builds one
/// (BertTokenizerFast): BERT's normalizer (lower-casing and stripping accents for uncased models), BERT's pre-tokenizer,
/// WordPiece with "##" continuations and [UNK], "[CLS] text [SEP]" around each text, and the WordPiece decoder.
/// </summary>
public static class BertVocab
{
    /// <summary>The special tokens BERT's vocabularies hold.</summary>
    public static readonly string[] SpecialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    /// <summary>Reads vocab.txt; a file without [UNK], [CLS] or [SEP] is an error that names it.</summary>
    public static Tokenizer Load(string vocabTxt, bool lowercase = true)
    {
        if (!File.Exists(vocabTxt)) throw new FileNotFoundException($"no vocab.txt at {Path.GetFullPath(vocabTxt)}", vocabTxt);
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        int id = 0;
        foreach (string line in File.ReadLines(vocabTxt))
        {
            string token = line.TrimEnd('\r');
            vocab.TryAdd(token, id); // the first id wins, as Hugging Face reads it
            ++id;
        }
        return Create(vocab, lowercase, vocabTxt);
    }

    /// <summary>The tokenizer for a vocabulary (token → id).</summary>
    public static Tokenizer Create(IReadOnlyDictionary<string, int> vocab, bool lowercase = true, string source = "the vocabulary")
    {
        int Need(string t) => vocab.TryGetValue(t, out int i) ? i : throw new InvalidDataException($"{source} has no {t} token; it is not a BERT vocabulary");
        int cls = Need("[CLS]"), sep = Need("[SEP]");
        Need("[UNK]");
        var added = SpecialTokens.Where(vocab.ContainsKey).Select(t => new AddedToken(t, vocab[t])).ToList();
        return new Tokenizer(new WordPiece(vocab, "[UNK]", "##", 100), added)
        {
            Normalizer = new BertNormalizer(lowercase: lowercase),
            PreTokenizer = new BertPreTokenizer(),
            PostProcessor = new TemplateProcessing([("[CLS]", cls)], [("[SEP]", sep)]),
            Decoder = new WordPieceDecoder(),
        };
    }
}
