using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Slovo.Embeddings;

namespace Slovo.Tests;

/// <summary>KeyedVectors against gensim 4.2 through tests/golden/vectors (made by make_golden.py there).</summary>
public class KeyedVectorsTests
{
    internal static string Root() => TestSupport.TestPaths.RepoRoot;

    private static string Golden(string name) => Path.Combine(Root(), "tests", "golden", "vectors", name);

    internal static string Glove100 => SharedData.Data("glove", "glove.6B.100d.top50k.txt");

    internal static readonly Lazy<KeyedVectors> Glove = new(() => KeyedVectors.LoadGlove(Glove100));

    [Fact]
    public void QueriesMatchGensim()
    {
        KeyedVectors kv = Glove.Value;
        Assert.Equal(50_000, kv.Count);
        Assert.Equal(100, kv.Dimension);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Golden("glove100_queries.json")));
        JsonElement g = doc.RootElement;
        void SameList(string key, IReadOnlyList<(string Word, double Similarity)> actual)
        {
            var expected = g.GetProperty(key).EnumerateArray().Select(e => (e[0].GetString()!, e[1].GetDouble())).ToList();
            Assert.Equal(expected.Select(e => e.Item1), actual.Select(a => a.Word));
            for (int i = 0; i < expected.Count; ++i) Assert.Equal(expected[i].Item2, actual[i].Similarity, 5);
        }
        SameList("king_man_woman", kv.MostSimilar(["king", "woman"], ["man"], 10));
        SameList("computer", kv.MostSimilar(["computer"], topn: 10));
        SameList("paris_france_italy", kv.MostSimilar(["paris", "italy"], ["france"], 5));
        Assert.Equal(g.GetProperty("doesnt_match").GetString(), kv.DoesntMatch(["breakfast", "cereal", "dinner", "lunch"]));
        Assert.Equal(g.GetProperty("music_given").GetString(), kv.MostSimilarToGiven("music", ["water", "sound", "backpack", "mouse"]));
        Assert.Equal(g.GetProperty("similarity_woman_man").GetDouble(), kv.Similarity("woman", "man"), 5);
        Assert.Equal(g.GetProperty("n_similarity").GetDouble(), kv.NSimilarity(["king", "queen"], ["man", "woman"]), 5);
        Assert.Equal(g.GetProperty("rank_king_queen").GetInt32(), kv.Rank("king", "queen"));
        // The course's sanity checks, as gensim answers them on this data.
        Assert.Equal("queen", kv.MostSimilar(["king", "woman"], ["man"], 1)[0].Word);
        Assert.Equal("cereal", kv.DoesntMatch(["breakfast", "cereal", "dinner", "lunch"]));
        Assert.Equal("sound", kv.MostSimilarToGiven("music", ["water", "sound", "backpack", "mouse"]));
    }

    [Theory]
    [InlineData("gensim-small.bin")]
    [InlineData("gensim-small.txt")]
    public void ReadsFilesWrittenByGensim(string file)
    {
        KeyedVectors small = KeyedVectors.Load(Golden(file));
        Assert.Equal(300, small.Count);
        for (int i = 0; i < small.Count; ++i)
        {
            Assert.Equal(Glove.Value.Words[i], small.Words[i]);
            float[] a = small.Row(i).ToArray(), b = Glove.Value.Row(i).ToArray();
            for (int k = 0; k < a.Length; ++k) Assert.Equal(b[k], a[k], 6);
        }
    }

    [Theory]
    [InlineData("slovo-small.bin", true)]
    [InlineData("slovo-small.txt", false)]
    public void FilesWrittenBySlovoReadTheSameInGensim(string file, bool binary)
    {
        var words = Glove.Value.Words.Take(300).ToList();
        var data = Glove.Value.Data[..(300 * 100)].ToArray();
        var small = new KeyedVectors(words, data, 100);
        string temp = Path.Combine(Directory.CreateTempSubdirectory("slovo-kv").FullName, file);
        small.Save(temp, binary);
        if (Environment.GetEnvironmentVariable("SLOVO_WRITE_GOLDEN") == "1") File.Copy(temp, Golden(file), overwrite: true);
        Assert.Equal(File.ReadAllBytes(Golden(file)), File.ReadAllBytes(temp)); // the committed file is what Slovo writes
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Golden("slovo_read_by_gensim.json")));
        Assert.True(doc.RootElement.TryGetProperty(file, out JsonElement seen), $"rerun tests/golden/vectors/make_golden.py after writing {file}");
        Assert.Equal(300, seen.GetProperty("count").GetInt32());
        Assert.Equal(words, seen.GetProperty("words").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(data.Select(v => (double)v).Sum(), seen.GetProperty("sum").GetDouble(), 3);
        Assert.Equal(data.Take(100).Select(v => (double)v), seen.GetProperty("first").EnumerateArray().Select(e => e.GetDouble()));
        KeyedVectors back = KeyedVectors.Load(temp);
        Assert.Equal(data, back.Data.ToArray());
    }

    [Fact]
    public void GzippedFilesAndLimitsWork()
    {
        string dir = Directory.CreateTempSubdirectory("slovo-gz").FullName;
        string gz = Path.Combine(dir, "v.txt.gz");
        using (var f = File.Create(gz))
        using (var z = new GZipStream(f, CompressionLevel.Fastest))
            z.Write(File.ReadAllBytes(Golden("gensim-small.txt")));
        KeyedVectors limited = KeyedVectors.Load(gz, limit: 10);
        Assert.Equal(10, limited.Count);
        Assert.Equal(Glove.Value.Words.Take(10), limited.Words);
        Assert.Equal(25, KeyedVectors.Load(Golden("gensim-small.bin"), limit: 25).Count);
    }

    private static string Write(byte[] content, string name = "bad.vec")
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("slovo-badvec").FullName, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private static byte[] BinaryRecord(string word, params float[] v) =>
        Encoding.UTF8.GetBytes(word + " ").Concat(v.SelectMany(BitConverter.GetBytes)).Append((byte)'\n').ToArray();

    [Fact]
    public void BrokenFilesGetErrorsNamingTheLineOrOffset()
    {
        byte[] header = "2 3\n"u8.ToArray();
        byte[] good = header.Concat(BinaryRecord("a", 1, 2, 3)).Concat(BinaryRecord("b", 4, 5, 6)).ToArray();
        Assert.Equal(2, KeyedVectors.Load(Write(good), binary: true).Count);
        Assert.Contains("is truncated", Assert.Throws<VectorFormatException>(() => KeyedVectors.Load(Write(good[..^6]), binary: true)).Message);
        byte[] lies = "3 3\n"u8.ToArray().Concat(good[header.Length..]).ToArray();
        Assert.Contains("announces 3 vectors but the file ends after 2", Assert.Throws<VectorFormatException>(() => KeyedVectors.Load(Write(lies), binary: true)).Message);
        byte[] extra = "1 3\n"u8.ToArray().Concat(good[header.Length..]).ToArray();
        Assert.Contains("announces 1 vectors but more data follows", Assert.Throws<VectorFormatException>(() => KeyedVectors.Load(Write(extra), binary: true)).Message);
        byte[] badWord = header.Concat(BinaryRecord("a", 1, 2, 3)).Concat(new byte[] { 0xC3, 0x28, (byte)' ' }).Concat(new byte[12]).ToArray();
        var utf = Assert.Throws<VectorFormatException>(() => KeyedVectors.Load(Write(badWord), binary: true));
        Assert.Contains("word 2 at byte offset 19 is not valid UTF-8", utf.Message); // header 4 bytes + record "a " + 12 + "\n" = 19
        Assert.Contains(":3: 'c' has 2 values but the file's vectors have 3",
            Assert.Throws<VectorFormatException>(() => KeyedVectors.Load(Write("a 1 2 3\nb 4 5 6\nc 7 8\n"u8.ToArray()))).Message);
        Assert.Contains(":2: value 2 of 'b' is not a number: 'x'",
            Assert.Throws<VectorFormatException>(() => KeyedVectors.Load(Write("a 1 2 3\nb 4 x 6\n"u8.ToArray()))).Message);
        Assert.Contains("announces 5 vectors but the file holds 2",
            Assert.Throws<VectorFormatException>(() => KeyedVectors.Load(Write("5 3\na 1 2 3\nb 4 5 6\n"u8.ToArray()))).Message);
        Assert.Contains("no vectors found", Assert.Throws<VectorFormatException>(() => KeyedVectors.Load(Write([]))).Message);
        Assert.Throws<FileNotFoundException>(() => KeyedVectors.Load("/nonexistent/vectors.bin"));
        Assert.Contains("appears twice", Assert.Throws<VectorFormatException>(() => KeyedVectors.Load(Write("a 1\na 2\n"u8.ToArray()))).Message);
    }
}
