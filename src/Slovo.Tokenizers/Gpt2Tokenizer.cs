using System.Text;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.PreTokenizers;
using Slovo.Tokenizers.Serialization;

namespace Slovo.Tokenizers;

/// <summary>
/// GPT-2's tokenizer: the GPT-2 split, byte-level mapping, then BPE with tiktoken's rule that a piece which is itself
/// a token is not merged; it gives the same ids as tiktoken's "gpt2" encoding (special tokens such as
/// &lt;|endoftext|&gt; in the text are encoded as ordinary text). Thread-safe.
/// </summary>
public sealed class Gpt2Tokenizer
{
    /// <summary>The BPE model (vocabulary in byte-level characters).</summary>
    public Bpe Model { get; }

    private Gpt2Tokenizer(Bpe model) => Model = model;

    /// <summary>Loads <c>encoder.json</c> and <c>vocab.bpe</c> from <paramref name="directory"/>.</summary>
    public static Gpt2Tokenizer Load(string directory)
    {
        string enc = Path.Combine(directory, "encoder.json"), merges = Path.Combine(directory, "vocab.bpe");
        if (!File.Exists(enc) || !File.Exists(merges))
            throw new FileNotFoundException($"a GPT-2 tokenizer folder needs encoder.json and vocab.bpe; looked in {Path.GetFullPath(directory)}");
        (Dictionary<string, int> vocab, List<(string, string)> mergeList) = Gpt2Files.Read(enc, merges);
        for (int b = 0; b < 256; ++b)
        {
            string s = ByteLevel.Char((byte)b).ToString();
            if (!vocab.ContainsKey(s))
                throw new InvalidDataException($"{enc}: the vocabulary lacks the byte token '{s}' (byte {b}); it is not a byte-level vocabulary");
        }
        try
        {
            return new Gpt2Tokenizer(new Bpe(vocab, mergeList, ignoreMerges: true));
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{merges}: {e.Message}", e);
        }
    }

    /// <summary>The number of ids.</summary>
    public int VocabSize => Model.VocabSize;

    /// <summary>The ids of <paramref name="text"/>.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        var tokens = new List<Token>(16);
        ReadOnlySpan<char> span = text;
        Span<byte> small = stackalloc byte[256];
        Span<char> mappedSmall = stackalloc char[256];
        for (int i = 0; i < span.Length;)
        {
            int end = Gpt2PreTokenizer.Match(span, i);
            ReadOnlySpan<char> piece = span[i..end];
            // Byte-level characters of the piece (lone surrogates as U+FFFD); ASCII skips UTF-8 transcoding.
            bool ascii = Ascii.IsValid(piece);
            int byteCount = ascii ? piece.Length : Encoding.UTF8.GetByteCount(piece);
            Span<byte> bytes = byteCount <= small.Length ? small[..byteCount] : new byte[byteCount];
            if (ascii) Ascii.FromUtf16(piece, bytes, out _);
            else Encoding.UTF8.GetBytes(piece, bytes);
            Span<char> mapped = byteCount <= mappedSmall.Length ? mappedSmall[..byteCount] : new char[byteCount];
            ByteLevel.Map(bytes, mapped);
            tokens.Clear();
            Model.Tokenize(mapped, tokens);
            foreach (Token t in tokens) ids.Add(t.Id);
            i = end;
        }
        return ids.ToArray();
    }

    /// <summary>The text of <paramref name="ids"/>; byte sequences that are not valid UTF-8 become U+FFFD.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>(ids.Length * 4);
        foreach (int id in ids)
        {
            string token = Model.IdToToken(id) ?? throw new ArgumentOutOfRangeException(nameof(ids), id, $"id {id} is outside the vocabulary of {VocabSize}");
            foreach (char c in token)
                bytes.Add(ByteLevel.TryByte(c, out byte b) ? b
                    : throw new InvalidDataException($"token {id} ('{token}') holds '{c}', which is not a byte-level character"));
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
