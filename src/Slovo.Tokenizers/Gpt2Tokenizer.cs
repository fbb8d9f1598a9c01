using System.Text;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.PreTokenizers;

namespace Slovo.Tokenizers;

/// <summary>
/// GPT-2's tokenizer: the GPT-2 split, then byte-level BPE; it gives the same ids as tiktoken's "gpt2" encoding
/// (special tokens such as &lt;|endoftext|&gt; in the text are encoded as ordinary text). Thread-safe.
/// </summary>
public sealed class Gpt2Tokenizer
{
    /// <summary>The BPE model.</summary>
    public BytePairEncoding Model { get; }

    private Gpt2Tokenizer(BytePairEncoding model) => Model = model;

    /// <summary>Loads <c>encoder.json</c> and <c>vocab.bpe</c> from <paramref name="directory"/>.</summary>
    public static Gpt2Tokenizer Load(string directory)
    {
        string enc = Path.Combine(directory, "encoder.json"), merges = Path.Combine(directory, "vocab.bpe");
        if (!File.Exists(enc) || !File.Exists(merges))
            throw new FileNotFoundException($"a GPT-2 tokenizer folder needs encoder.json and vocab.bpe; looked in {Path.GetFullPath(directory)}");
        return new Gpt2Tokenizer(BytePairEncoding.FromGpt2Files(enc, merges));
    }

    /// <summary>The number of ids.</summary>
    public int VocabSize => Model.VocabSize;

    /// <summary>The ids of <paramref name="text"/>.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        ReadOnlySpan<char> span = text;
        for (int i = 0; i < span.Length;)
        {
            int end = Gpt2PreTokenizer.Match(span, i); // the same pieces as _split.Split, without collecting them
            Model.EncodePiece(span[i..end], ids);
            i = end;
        }
        return ids.ToArray();
    }

    /// <summary>The text of <paramref name="ids"/>; byte sequences that are not valid UTF-8 become U+FFFD.</summary>
    public string Decode(ReadOnlySpan<int> ids) => Encoding.UTF8.GetString(Model.DecodeBytes(ids));
}
