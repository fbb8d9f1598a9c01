using System.Globalization;
using System.IO.Compression;
using System.Text;
using Slovo.Torch.Serialization;

namespace Slovo.Embeddings;

/// <summary>A vector file that breaks its format; the message names the file and the line or byte offset.</summary>
public sealed class VectorFormatException(string message) : IOException(message);

public sealed partial class KeyedVectors
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>
    /// Loads a word2vec file (binary or text with an "N D" header) or a GloVe text file (no header); gzip is detected
    /// from the content. <paramref name="binary"/> null means: guess from the content. Reads at most <paramref name="limit"/> vectors.
    /// </summary>
    public static KeyedVectors Load(string path, bool? binary = null, int? limit = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"vector file not found: {Path.GetFullPath(path)}", path);
        if (limit is < 0) throw new ArgumentOutOfRangeException(nameof(limit), limit, "must be non-negative");
        byte[] head = new byte[4096];
        int headLen;
        using (Stream probe = Open(path)) headLen = probe.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        bool isBinary = binary ?? LooksBinary(head.AsSpan(0, headLen));
        using Stream stream = Open(path);
        return isBinary ? ReadBinary(stream, path, limit) : ReadText(stream, path, limit);
    }

    /// <summary>Loads a GloVe text file (no header line).</summary>
    public static KeyedVectors LoadGlove(string path, int? limit = null) => Load(path, binary: false, limit);

    private static Stream Open(string path)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        int b0 = file.ReadByte(), b1 = file.ReadByte();
        file.Position = 0;
        return b0 == 0x1F && b1 == 0x8B ? new BufferedStream(new GZipStream(file, CompressionMode.Decompress), 1 << 16) : file;
    }

    /// <summary>A header line of two integers followed by bytes that are not text means binary.</summary>
    private static bool LooksBinary(ReadOnlySpan<byte> head)
    {
        int nl = head.IndexOf((byte)'\n');
        if (nl < 0 || nl == head.Length - 1) return false;
        string first = Encoding.ASCII.GetString(head[..nl]).Trim();
        string[] parts = first.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2 || !parts.All(p => p.All(char.IsAsciiDigit))) return false;
        ReadOnlySpan<byte> rest = head[(nl + 1)..];
        int controls = 0;
        foreach (byte b in rest) if (b < 0x20 && b is not (byte)'\n' and not (byte)'\r' and not (byte)'\t') ++controls;
        return controls > 0 || rest.IndexOf((byte)0) >= 0;
    }

    private static (long Count, int Dim) ParseHeader(string line, string path)
    {
        string[] parts = line.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long n)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int d) && d > 0)
            return (n, d);
        throw new VectorFormatException($"{path}: line 1 must be the header \"<count> <dimension>\", got '{Short(line)}'");
    }

    private static string Short(string s) => s.Length > 60 ? s[..60] + "..." : s;

    private static KeyedVectors ReadBinary(Stream stream, string path, int? limit)
    {
        var reader = new BinaryByteReader(stream);
        string header = reader.ReadLine() ?? throw new VectorFormatException($"{path}: the file is empty");
        (long count, int dim) = ParseHeader(header, path);
        long take = Math.Min(count, limit ?? long.MaxValue);
        if (take * dim > int.MaxValue) throw new VectorFormatException($"{path}: {take:N0} vectors of dimension {dim} do not fit in memory; pass a limit");
        var words = new List<string>((int)Math.Min(take, 10_000_000));
        var data = new float[take * dim];
        var bytes = new byte[dim * 4];
        for (long i = 0; i < take; ++i)
        {
            byte[]? wordBytes = reader.ReadWord(out long at);
            if (wordBytes is null)
                throw new VectorFormatException($"{path}: the header announces {count:N0} vectors but the file ends after {i:N0} (byte offset {at}); it is truncated or the header is wrong");
            string word;
            try { word = StrictUtf8.GetString(wordBytes); }
            catch (DecoderFallbackException) { throw new VectorFormatException($"{path}: word {i + 1} at byte offset {at} is not valid UTF-8"); }
            if (reader.ReadExactly(bytes) != bytes.Length)
                throw new VectorFormatException($"{path}: the vector of '{Short(word)}' (word {i + 1}, byte offset {at}) is truncated: {dim * 4} bytes expected");
            Buffer.BlockCopy(bytes, 0, data, (int)(i * dim * 4), bytes.Length);
            words.Add(word);
        }
        if (take == count && reader.HasMoreWords())
            throw new VectorFormatException($"{path}: the header announces {count:N0} vectors but more data follows (byte offset {reader.Position}); the header is wrong");
        return Build(words, data, dim, path);
    }

    private static KeyedVectors ReadText(Stream stream, string path, int? limit)
    {
        using var reader = new StreamReader(stream, StrictUtf8, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);
        var words = new List<string>();
        var data = new List<float>();
        int dim = -1;
        long declared = -1, lineNo = 0;
        string? line;
        try
        {
            while ((line = reader.ReadLine()) is not null)
            {
                ++lineNo;
                if (line.Length == 0) continue;
                string[] parts = line.TrimEnd().Split(' ');
                if (lineNo == 1 && parts.Length == 2 && parts.All(p => p.Length > 0 && p.All(char.IsAsciiDigit)))
                {
                    (declared, dim) = ParseHeader(line, path);
                    continue;
                }
                if (limit is { } l && words.Count >= l) break;
                if (dim < 0) dim = parts.Length - 1;
                if (dim <= 0) throw new VectorFormatException($"{path}:{lineNo}: expected a word followed by numbers, got '{Short(line)}'");
                if (parts.Length - 1 != dim)
                    throw new VectorFormatException($"{path}:{lineNo}: '{Short(parts[0])}' has {parts.Length - 1} values but the file's vectors have {dim}");
                for (int k = 1; k < parts.Length; ++k)
                    data.Add(float.TryParse(parts[k], NumberStyles.Float, CultureInfo.InvariantCulture, out float v) ? v
                        : throw new VectorFormatException($"{path}:{lineNo}: value {k} of '{Short(parts[0])}' is not a number: '{Short(parts[k])}'"));
                words.Add(parts[0]);
            }
        }
        catch (DecoderFallbackException)
        {
            throw new VectorFormatException($"{path}:{lineNo + 1}: not valid UTF-8");
        }
        if (words.Count == 0) throw new VectorFormatException($"{path}: no vectors found");
        if (declared >= 0 && limit is null && words.Count != declared)
            throw new VectorFormatException($"{path}: the header announces {declared:N0} vectors but the file holds {words.Count:N0}; the header is wrong or the file truncated");
        return Build(words, data.ToArray(), dim, path);
    }

    private static KeyedVectors Build(List<string> words, float[] data, int dim, string path)
    {
        try { return new KeyedVectors(words, data, dim); }
        catch (ArgumentException e) { throw new VectorFormatException($"{path}: {e.Message}"); }
    }

    /// <summary>Writes word2vec format (binary or text, with the "N D" header) atomically.</summary>
    public void Save(string path, bool binary = true)
    {
        AtomicFile.Write(path, stream =>
        {
            Stream target = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true) : stream;
            var buffered = new BufferedStream(target, 1 << 16); // flushed, not disposed: disposing would close the atomic file's stream
            {
                buffered.Write(Encoding.ASCII.GetBytes($"{Count} {Dimension}\n"));
                var row = new byte[Dimension * 4];
                var sb = new StringBuilder();
                for (int i = 0; i < Count; ++i)
                {
                    if (_words[i].Contains(' ') || _words[i].Contains('\n'))
                        throw new InvalidOperationException($"word '{_words[i]}' holds a space or newline, which word2vec files cannot store");
                    if (binary)
                    {
                        buffered.Write(Encoding.UTF8.GetBytes(_words[i] + " "));
                        Buffer.BlockCopy(_data, i * Dimension * 4, row, 0, row.Length);
                        buffered.Write(row);
                        buffered.WriteByte((byte)'\n');
                    }
                    else
                    {
                        sb.Clear().Append(_words[i]);
                        foreach (float v in Row(i)) sb.Append(' ').Append(v.ToString("R", CultureInfo.InvariantCulture));
                        buffered.Write(Encoding.UTF8.GetBytes(sb.Append('\n').ToString()));
                    }
                }
                buffered.Flush();
            }
            if (!ReferenceEquals(target, stream)) target.Dispose();
        });
    }

    /// <summary>Byte-level reading of word2vec binary records: "word " then D float32, records separated by optional newlines.</summary>
    private sealed class BinaryByteReader(Stream stream)
    {
        private int _peeked = -1;

        public long Position { get; private set; }

        private int Next()
        {
            int b;
            if (_peeked >= 0) { b = _peeked; _peeked = -1; }
            else b = stream.ReadByte();
            if (b >= 0) ++Position;
            return b;
        }

        public string? ReadLine()
        {
            var bytes = new List<byte>();
            int b;
            while ((b = Next()) >= 0 && b != '\n') bytes.Add((byte)b);
            return b < 0 && bytes.Count == 0 ? null : Encoding.ASCII.GetString(bytes.ToArray());
        }

        /// <summary>The next word's bytes (skipping newlines before it), or null at the end.</summary>
        public byte[]? ReadWord(out long start)
        {
            int b;
            while ((b = Next()) == '\n' || b == '\r') { }
            start = Position - 1;
            if (b < 0) return null;
            var bytes = new List<byte>(16);
            while (b >= 0 && b != ' ')
            {
                bytes.Add((byte)b);
                b = Next();
            }
            return b < 0 ? null : bytes.ToArray();
        }

        public int ReadExactly(byte[] buffer)
        {
            int n = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            Position += n;
            return n;
        }

        public bool HasMoreWords()
        {
            int b;
            while ((b = Next()) == '\n' || b == '\r' || b == ' ') { }
            if (b >= 0) { _peeked = b; --Position; return true; }
            return false;
        }
    }
}
