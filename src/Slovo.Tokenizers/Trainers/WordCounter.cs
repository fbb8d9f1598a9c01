using System.Text;
using Slovo.Tokenizers.Models;
using Slovo.Tokenizers.Normalizers;
using Slovo.Tokenizers.PreTokenizers;

namespace Slovo.Tokenizers.Trainers;

/// <summary>Progress of a long step: what is being done, how far, out of how much (0 when unknown).</summary>
public readonly record struct TrainerProgress(string Stage, long Done, long Total);

/// <summary>
/// Counts pre-tokenized words the way a tokenizer will see them (its normalizer, its pre-tokenizer, byte-level mapping
/// when it uses one). Files are streamed line by line, so a corpus far larger than memory only costs its distinct words.
/// </summary>
public sealed class WordCounter
{
    private readonly INormalizer? _normalizer;
    private readonly IPreTokenizer? _preTokenizer;
    private readonly bool _byteLevel;
    private readonly List<(int, int)> _pieces = new();

    /// <summary>Word → occurrences.</summary>
    public Dictionary<string, long> Counts { get; } = new(StringComparer.Ordinal);

    /// <summary>Counts words as a pipeline with this normalizer and pre-tokenizer splits them.</summary>
    public WordCounter(INormalizer? normalizer, IPreTokenizer? preTokenizer)
    {
        (_normalizer, _preTokenizer) = (normalizer, preTokenizer);
        _byteLevel = preTokenizer is ByteLevelPreTokenizer || (preTokenizer is SequencePreTokenizer s && s.Steps.Any(x => x is ByteLevelPreTokenizer));
    }

    /// <summary>Counts the words of one text.</summary>
    public void Add(string text)
    {
        string t = _normalizer is null ? text : _normalizer.Normalize(NormalizedText.Identity(text)).Text;
        _pieces.Clear();
        if (_preTokenizer is null) { if (t.Length > 0) _pieces.Add((0, t.Length)); }
        else _preTokenizer.Split(t, _pieces);
        var lookup = Counts.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach ((int s, int l) in _pieces)
        {
            if (_byteLevel)
            {
                string mapped = ByteLevel.Map(t.AsSpan(s, l), out _);
                Counts[mapped] = Counts.GetValueOrDefault(mapped) + 1;
            }
            else
            {
                ReadOnlySpan<char> word = t.AsSpan(s, l);
                lookup[word] = lookup.TryGetValue(word, out long c) ? c + 1 : 1;
            }
        }
    }

    /// <summary>Counts every line of a UTF-8 file; invalid UTF-8 is an error naming the file, line and byte offset.</summary>
    public void AddFile(string path, IProgress<TrainerProgress>? progress = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"training file not found: {Path.GetFullPath(path)}", path);
        long total = new FileInfo(path).Length;
        long lineNo = 0;
        foreach ((string line, long offset) in ReadLines(path))
        {
            ++lineNo;
            Add(line);
            if ((lineNo & 1023) == 0) progress?.Report(new TrainerProgress($"counting words in {Path.GetFileName(path)}", offset, total));
        }
        progress?.Report(new TrainerProgress($"counting words in {Path.GetFileName(path)}", total, total));
    }

    /// <summary>
    /// Counts words of many files on <paramref name="threads"/> threads: each file is cut into byte ranges at line
    /// boundaries, each range is counted separately, and the counts are added up.
    /// </summary>
    public static Dictionary<string, long> CountFiles(IReadOnlyList<string> paths, INormalizer? normalizer, IPreTokenizer? preTokenizer,
                                                      int threads = 0, IProgress<TrainerProgress>? progress = null)
    {
        threads = threads > 0 ? threads : Environment.ProcessorCount;
        var ranges = new List<(string Path, long Start, long End)>();
        foreach (string path in paths)
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"training file not found: {Path.GetFullPath(path)}", path);
            long length = new FileInfo(path).Length;
            long chunk = Math.Max(1 << 20, length / (threads * 4) + 1);
            for (long start = 0; start < length;)
            {
                long end = NextLineStart(path, Math.Min(length, start + chunk));
                ranges.Add((path, start, end));
                start = end;
            }
        }
        long totalBytes = ranges.Sum(r => r.End - r.Start), doneBytes = 0;
        var partial = new Dictionary<string, long>[ranges.Count];
        Parallel.For(0, ranges.Count, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
        {
            var counter = new WordCounter(normalizer, preTokenizer);
            foreach ((string line, _) in ReadLines(ranges[i].Path, ranges[i].Start, ranges[i].End)) counter.Add(line);
            partial[i] = counter.Counts;
            progress?.Report(new TrainerProgress("counting words", Interlocked.Add(ref doneBytes, ranges[i].End - ranges[i].Start), totalBytes));
        });
        var total = new Dictionary<string, long>(partial.Select(p => p.Count).DefaultIfEmpty(0).Max(), StringComparer.Ordinal);
        foreach (Dictionary<string, long> p in partial)
            foreach ((string w, long c) in p)
                total[w] = total.GetValueOrDefault(w) + c;
        return total;
    }

    /// <summary>The offset just after the first '\n' at or after <paramref name="from"/> (or the file's end).</summary>
    private static long NextLineStart(string path, long from)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        if (from >= stream.Length) return stream.Length;
        stream.Position = from;
        int b;
        while ((b = stream.ReadByte()) >= 0)
            if (b == '\n') return stream.Position;
        return stream.Length;
    }

    /// <summary>Lines (with their '\n', CRLF turned into LF) and the byte offset after each, decoded strictly one line at a time.</summary>
    public static IEnumerable<(string Line, long Offset)> ReadLines(string path) => ReadLines(path, 0, long.MaxValue);

    /// <summary>The lines within bytes [<paramref name="start"/>, <paramref name="end"/>) of a file; <paramref name="start"/> must begin a line.
    /// Errors name the line number within the range, or within the file when the range starts at 0.</summary>
    public static IEnumerable<(string Line, long Offset)> ReadLines(string path, long start, long end)
    {
        var strict = new UTF8Encoding(false, throwOnInvalidBytes: true);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        stream.Position = start;
        var buffer = new byte[1 << 20];
        var pending = new List<byte>();
        long position = start, lineNo = 0;
        int n;
        bool first = start == 0;
        while (position < end && (n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, end - position))) > 0)
        {
            int from = 0;
            if (first && n >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF) from = 3; // byte-order mark
            first = false;
            for (int i = from; i < n; ++i)
            {
                if (buffer[i] != (byte)'\n') continue;
                pending.AddRange(new ArraySegment<byte>(buffer, from, i + 1 - from));
                yield return (Decode(pending), position + i + 1);
                pending.Clear();
                from = i + 1;
            }
            pending.AddRange(new ArraySegment<byte>(buffer, from, n - from));
            position += n;
        }
        if (pending.Count > 0) yield return (Decode(pending), position);

        string Decode(List<byte> bytes)
        {
            ++lineNo;
            try
            {
                string s = strict.GetString(bytes.ToArray());
                return s.EndsWith("\r\n", StringComparison.Ordinal) ? s[..^2] + "\n" : s;
            }
            catch (DecoderFallbackException e)
            {
                string where = start == 0 ? $"{path}:{lineNo}" : $"{path}: line {lineNo} after byte {start}";
                throw new InvalidDataException($"{where}: not valid UTF-8 (byte {e.Index} of the line); convert the file (e.g. iconv -f cp1251 -t utf-8)");
            }
        }
    }
}
