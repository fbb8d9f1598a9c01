using Slovo.Embeddings;
using Slovo.Retrieval;
using Slovo.Text;
using Slovo.Evaluation;

namespace Slovo.Tests;

public class RetrievalTests
{
    [Fact]
    public void PreprocessingFollowsTheCourse()
    {
        var stop = Preprocessor.LoadStopwords(SharedData.Data("stopwords", "english.txt"));
        var p = new Preprocessor(stop);
        Assert.Equal("sql server any equivalent excels choose function", p.Process("SQL Server - any equivalent of Excel's CHOOSE function?")); // "any" is not in the shipped list
        Assert.Equal("free c++ memory vectorsint arr", p.Process("free c++ memory vectors<int> arr")); // the course's expected answer
        Assert.Equal("install mount exfat partition", p.Process("How do I install and mount an <b>exFAT</b> partition?<p>&amp;</p>"));
        Assert.Equal("как установить пакет или", new Preprocessor(["и"]).Process("Как установить пакет, и / или"));
        Assert.Equal("", p.Process("   "));
        Assert.Equal(["ab"], new Preprocessor { MinWordLength = 2 }.Words("a ab b"));
    }

    [Fact]
    public void EmbedderAveragesKnownWordsAndNeverGivesNaN()
    {
        var kv = new KeyedVectors(["a", "b"], [1, 0, 3, 4], 2);
        var e = new SentenceEmbedder(kv);
        Assert.Equal(new float[] { 2, 2 }, e.Embed(["a", "b", "unknown"]));
        Assert.Equal(new float[] { 0, 0 }, e.Embed(["unknown"]));
        Assert.Equal(new float[] { 0, 0 }, e.Embed([]));
        var unit = new SentenceEmbedder(kv) { Normalize = true };
        Assert.Equal(new float[] { 0.6f, 0.8f }, unit.Embed(["b"]));
        Assert.Equal(new float[] { 0, 0 }, unit.Embed([]));
        var idf = SentenceEmbedder.ComputeIdf([["a", "b"], ["b"]]); // idf(a) = ln 2, idf(b) = 0
        Assert.Equal(new float[] { 1, 0 }, new SentenceEmbedder(kv, idf).Embed(["a", "b"]));
        var withFallback = new SentenceEmbedder(kv, fallback: w => w == "c" ? [5f, 5f] : null);
        Assert.Equal(new float[] { 3, 2.5f }, withFallback.Embed(["a", "c"]));
    }

    [Fact]
    public void MetricsMatchHandComputedValues()
    {
        int[] ranks = [1, 3, 5, 2];
        Assert.Equal(0.25, RankingEvaluation.HitsAtK(ranks, 1));
        Assert.Equal(0.75, RankingEvaluation.HitsAtK(ranks, 3));
        Assert.Equal((1 + 1 / Math.Log2(4) + 1 / Math.Log2(3)) / 4, RankingEvaluation.DcgAtK(ranks, 3), 12);
        Assert.Equal((1 + 1 / 3.0 + 1 / 5.0 + 1 / 2.0) / 4, RankingEvaluation.Mrr(ranks), 12);
        Assert.Equal(0, RankingEvaluation.HitsAtK([], 1));
    }

    [Fact]
    public void RanksCountHigherScoringNegativesLikeABruteForceSort()
    {
        var rng = new Random(71);
        const int m = 500, d = 16;
        float[] pool = Enumerable.Range(0, m * d).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var pairs = Enumerable.Range(0, 50).Select(i => (i, i + 100)).ToList();
        List<RankingCase> cases = RankingEvaluation.BuildCases(pairs, m, negatives: 99, seed: 5);
        Assert.Equal(cases.Select(c => c.Negatives), RankingEvaluation.BuildCases(pairs, m, 99, 5).Select(c => c.Negatives)); // seeded
        Assert.All(cases, c => Assert.DoesNotContain(c.Query, c.Negatives));
        Assert.All(cases, c => Assert.DoesNotContain(c.Duplicate, c.Negatives));
        int[] ranks = RankingEvaluation.Ranks(pool, d, cases);
        double Cos(int a, int b)
        {
            double dot = 0, na = 0, nb = 0;
            for (int k = 0; k < d; ++k) { dot += pool[a * d + k] * pool[b * d + k]; na += pool[a * d + k] * pool[a * d + k]; nb += pool[b * d + k] * pool[b * d + k]; }
            return dot / Math.Sqrt(na * nb);
        }
        for (int i = 0; i < cases.Count; ++i)
        {
            var ordered = cases[i].Negatives.Append(cases[i].Duplicate).OrderByDescending(c => Cos(cases[i].Query, c)).ToList();
            Assert.Equal(ordered.IndexOf(cases[i].Duplicate) + 1, ranks[i]);
        }
    }

    [Fact]
    public void AnEmptyQuestionGetsTheZeroVectorAndADefinedRank()
    {
        float[] pool = [0, 0, 1, 0, 0, 1, 1, 1]; // question 0 is empty (zero vector)
        int[] ranks = RankingEvaluation.Ranks(pool, 2, [new RankingCase(0, 1, [2, 3])]);
        Assert.Equal(1, ranks[0]); // every similarity is 0: no negative scores higher, never NaN
    }

    [Fact]
    public void ReadsTheShippedDuplicatePairs()
    {
        string dir = SharedData.Data("duplicates");
        var noclue = DuplicatePairs.Read(Path.Combine(dir, "askubuntu_noclue_val.tsv"));
        Assert.Equal(1000, noclue.Count);
        Assert.Equal(500, noclue.Count(p => p.IsDuplicate));
        var clue = DuplicatePairs.Read(Path.Combine(dir, "meta_clue_val.tsv"));
        Assert.Equal(500, clue.Count(p => p.IsDuplicate));
        string bad = Path.Combine(Directory.CreateTempSubdirectory("slovo-pairs").FullName, "bad.tsv");
        File.WriteAllText(bad, "duplicate\ta\tb\nmaybe\tc\td\n");
        Assert.Contains("bad.tsv:2: unknown label 'maybe'", Assert.Throws<InvalidDataException>(() => DuplicatePairs.Read(bad)).Message);
    }
}
