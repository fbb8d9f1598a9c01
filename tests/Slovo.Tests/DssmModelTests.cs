using Slovo.Retrieval;
using Slovo.Text;
using Slovo.Evaluation;

namespace Slovo.Tests;

public class DssmModelTests
{
    /// <summary>
    /// "Translation" pairs: sentence A names three concepts with words x0..x199, its partner B the same concepts with the
    /// disjoint words y0..y199, in another order. Untrained bag vectors share nothing between the sides (chance ranking);
    /// NT-Xent must learn to align x_c with y_c, and is judged on new, held-out combinations of the concepts.
    /// </summary>
    private static (List<(IReadOnlyList<string>, IReadOnlyList<string>)> Train, List<IReadOnlyList<string>> Pool, List<RankingCase> Cases) Translation()
    {
        var rng = new Random(5);
        (IReadOnlyList<string>, IReadOnlyList<string>) Pair()
        {
            int[] c = Enumerable.Range(0, 3).Select(_ => rng.Next(200)).ToArray();
            return (c.Select(i => "x" + i).ToList(), c.Reverse().Select(i => "y" + i).ToList());
        }
        var train = Enumerable.Range(0, 2000).Select(_ => Pair()).ToList();
        var test = Enumerable.Range(0, 150).Select(_ => Pair()).ToList();
        var pool = test.SelectMany(p => new[] { p.Item1, p.Item2 }).ToList();
        var cases = RankingEvaluation.BuildCases(Enumerable.Range(0, test.Count).Select(i => (2 * i, 2 * i + 1)).ToList(), pool.Count, 99, seed: 1);
        return (train, pool, cases);
    }

    [Fact]
    public void TrainingAlignsPairsThatShareNoWords()
    {
        var (train, pool, cases) = Translation();
        var options = new DssmOptions { Dimension = 64, Epochs = 6, BatchSize = 64, LearningRate = 1e-2, Seed = 2 };
        using DssmModel untrained = DssmModel.Create(train, options);
        using DssmModel trained = DssmModel.Train(train, options);
        double before = RankingEvaluation.HitsAtK(RankingEvaluation.Ranks(untrained.Encode(pool), 64, cases), 10);
        double after = RankingEvaluation.HitsAtK(RankingEvaluation.Ranks(trained.Encode(pool), 64, cases), 10);
        // Chance is 10 / 100; the trained model must find held-out partners far more often.
        Assert.True(before < 0.25, $"untrained Hits@10 {before:F3} should be near chance");
        Assert.True(after > 0.6, $"Hits@10 on held-out pairs: {before:F3} untrained, {after:F3} trained");
    }

    [Fact]
    public void ExtensionsAddBigramAndTrigramFeatures()
    {
        var words = new[] { "install", "ubuntu" };
        Assert.Equal(["w:install", "w:ubuntu"], DssmModel.Features(words, new DssmOptions()));
        var all = DssmModel.Features(words, new DssmOptions { WordBigrams = true, CharTrigrams = true }).ToList();
        Assert.Contains("b:install ubuntu", all);
        Assert.Contains("t:#in", all);
        Assert.Contains("t:tu#", all);
        Assert.Throws<ArgumentException>(() => DssmModel.Create([(words, words)], new DssmOptions()));
    }
}
