using Slovo.Evaluation;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Text;
using Slovo.Torch;

namespace Slovo.Tests;

public class CompletionTests
{
    [Fact]
    public void TextsAreCutAtAShareOfTheirCharactersNeverEmptyOnEitherSide()
    {
        Assert.Equal(("my whole body feels itc", "hy and like its on fire"), Completion.Cut("my whole body feels itchy and like its on fire", 0.5));
        Assert.Equal(("a", "b"), Completion.Cut("ab", 0.75));
        Assert.Equal(("a", "bc"), Completion.Cut("abc", 0.1));
        Assert.Equal(("ab", "c"), Completion.Cut("abc", 0.99));
        // 0.5 of "a😀b" (4 chars) would split the emoji's surrogate pair: the cut moves before it.
        Assert.Equal(("a", "😀b"), Completion.Cut("a😀b", 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Completion.Cut("abc", 1));
        Assert.Throws<ArgumentException>(() => Completion.Cut("a", 0.5));
    }

    [Fact]
    public void TweetsAreCleanedOfEntitiesUrlsAndMentions()
    {
        Assert.Equal("awww, that's a bummer. you shoulda got david carr of third day to do it. ;d",
                     TweetCleaner.Clean("@switchfoot http://twitpic.com/2y1zl - Awww, that's a bummer.  You shoulda got David Carr of Third Day to do it. ;D")[2..]);
        Assert.Equal("i said \"hi\" & left #bye", TweetCleaner.Clean("I said &quot;hi&quot; &amp; left  www.example.com/x #bye @Someone"));
        Assert.Equal("", TweetCleaner.Clean("@a @b https://t.co/x"));
    }

    [Fact]
    public void ConsensusIsTheCandidateWithTheHighestSummedRougeLAgainstTheOthers()
    {
        // Pairwise ROUGE-L F1, worked by hand ("the cat sat" = A, "the cat" = B, "a dog ran" = C, "the cat sat down" = D):
        // A–B: LCS 2, P 2/3, R 1 → 0.8;  A–D: LCS 3, P 1, R 3/4 → 6/7;  B–D: LCS 2, P 1, R 1/2 → 2/3;  C shares no word.
        // Sums: A 0.8 + 6/7 = 1.657, B 0.8 + 2/3 = 1.467, C 0, D 6/7 + 2/3 = 1.524: A wins although D holds it.
        Assert.Equal(3, Completion.Consensus(["A dog ran!", "the cat", "The cat sat down", "the  cat, sat"]));
        Assert.Equal(0, Completion.Consensus(["x", "y"]));               // no agreement at all: the first
        Assert.Equal(1, Completion.Consensus(["x", "y z", "y"]));        // y z–y: P 1/2, R 1 → 2/3 on both; the first of the tie
        Assert.Equal(0, Completion.Consensus(["alone"]));
        // rouge-score's tokens delete Cyrillic, so every Russian candidate is empty and ties; Unicode tokens see the words.
        string[] russian = ["ты мой друг", "мой друг", "ветер"];
        Assert.Equal(0, Completion.Consensus(russian.Reverse().ToList()));
        Assert.Equal(1, Completion.Consensus(russian.Reverse().ToList(), new Rouge(tokenization: RougeTokenization.Unicode)));
        Assert.Throws<ArgumentException>(() => Completion.Consensus([]));
    }

    [Fact]
    public void SeveralCandidatesKeepTheConsensusOfTheSamplesEachRowWouldDrawAlone()
    {
        string[] texts = ["the results show that the model learns", "we propose a new method", "a simple baseline beats it"];
        CharVocabulary vocab = CharVocabulary.Build(texts);
        var rnn = new RnnLanguageModel(new RnnLanguageModelOptions { VocabSize = vocab.Size, EmbeddingSize = 8, HiddenSize = 16, PadId = vocab.PadId });
        using (LibTorch.NoGrad())
        using (var generator = new RandomGenerator(3))
            foreach (Tensor p in rnn.Parameters())
                p.Uniform_(-0.5, 0.5, generator);
        rnn.Eval();
        using LanguageModel model = LanguageModel.Of(rnn, vocab);
        var sampling = new GenerationOptions { Temperature = 1.0, Seed = 7 };
        var options = new CompletionOptions { Cut = 0.5, BatchSize = 1, Margin = 2 };
        const int n = 4;
        IReadOnlyList<CompletionExample> chosen = Completion.Complete(model, texts, sampling, options with { Candidates = n });
        // With one text per batch, candidate m is the row drawn with seed Seed + m: the same completion one row draws alone.
        var alone = Enumerable.Range(0, n).Select(m => Completion.Complete(model, texts, sampling with { Seed = 7 + m }, options)).ToList();
        int differing = 0;
        for (int i = 0; i < texts.Length; ++i)
        {
            string[] candidates = alone.Select(a => a[i].Completion).ToArray();
            Assert.Equal(candidates[Completion.Consensus(candidates)], chosen[i].Completion);
            Assert.Equal(alone[0][i].Prompt, chosen[i].Prompt);
            if (candidates.Distinct().Count() > 1) ++differing;
        }
        Assert.True(differing > 0, "the samples never differed, so the choice among them was not exercised");
        Assert.Throws<ArgumentException>(() => Completion.Complete(model, texts, new GenerationOptions { Greedy = true }, options with { Candidates = 2 }));
        Assert.Throws<ArgumentException>(() => Completion.Complete(model, texts, sampling with { Beams = 2 }, options with { Candidates = 2 }));
    }
}
