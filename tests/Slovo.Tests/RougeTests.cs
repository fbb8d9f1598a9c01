using Slovo.Evaluation;

namespace Slovo.Tests;

public class RougeTests
{
    private static readonly Rouge Plain = new();

    private static void Near(double expected, double actual) => Assert.Equal(expected, actual, 12);

    [Fact]
    public void TokensAreLowercaseRunsOfAsciiLettersAndDigitsAsInRougeScore()
    {
        Assert.Equal(["the", "quick", "brown", "fox", "it", "s", "2024"], Plain.Tokenize("The quick-brown FOX, it's 2024!"));
        Assert.Empty(Plain.Tokenize("Привет, мир — ünïcödé"[..11]));           // other scripts are deleted entirely
        Assert.Equal(["n", "c", "d"], Plain.Tokenize("ünïcödé"));                // accented letters are separators
        Assert.Equal(["i", "stanbul", "k"], Plain.Tokenize("İstanbul \u212A")); // Python's lower(): İ → i + combining dot, Kelvin sign → k
        var unicode = new Rouge(tokenization: RougeTokenization.Unicode);
        Assert.Equal(["привет", "мир", "ünïcödé"], unicode.Tokenize("Привет, мир — ÜNÏCÖDÉ"));
    }

    [Fact]
    public void RougeNCountsClippedNgramsAndRougeLTheLongestCommonSubsequence()
    {
        RougeScores s = Plain.Score("the cat sat on the mat", "the cat on the mat");
        // unigrams: the×2 cat sat on mat (6) against the×2 cat on mat (5): 5 in common
        Near(1, s.Rouge1.Precision);
        Near(5.0 / 6, s.Rouge1.Recall);
        Near(10.0 / 11, s.Rouge1.F1);
        // bigrams: 5 against 4, in common "the cat", "on the", "the mat"
        Near(3.0 / 4, s.Rouge2.Precision);
        Near(3.0 / 5, s.Rouge2.Recall);
        Near(2.0 / 3, s.Rouge2.F1);
        // LCS "the cat on the mat": 5
        Near(10.0 / 11, s.RougeL.F1);
        Near(s.RougeL.F1, s.RougeLsum.F1);                                   // one line each: Lsum is L

        RougeScores clipped = Plain.Score("the the the", "the the the the the");
        Near(3.0 / 5, clipped.Rouge1.Precision);                             // a repeated word counts as often as the reference has it
        Near(1, clipped.Rouge1.Recall);
        // Order matters for L, not for 1: "mat the on" against "on the mat"
        RougeScores shuffled = Plain.Score("on the mat", "mat the on");
        Near(1, shuffled.Rouge1.F1);
        Near(1.0 / 3, shuffled.RougeL.F1);
        Near(0, shuffled.Rouge2.F1);
    }

    [Fact]
    public void AnEmptySideScoresZero()
    {
        foreach ((string reference, string prediction) in new[] { ("a cat", ""), ("", "a cat"), ("a cat", "!!! ..."), ("Привет", "привет") })
        {
            RougeScores s = Plain.Score(reference, prediction);
            Assert.Equal(RougeScore.Zero, s.Rouge1);
            Assert.Equal(RougeScore.Zero, s.Rouge2);
            Assert.Equal(RougeScore.Zero, s.RougeL);
            Assert.Equal(RougeScore.Zero, s.RougeLsum);
        }
        // Unicode tokens make Russian comparable: 3 of the reference's 4 words, in order.
        RougeScores russian = new Rouge(tokenization: RougeTokenization.Unicode).Score("Я помню чудное мгновенье", "я помню мгновенье");
        Near(6.0 / 7, russian.Rouge1.F1);
        Near(6.0 / 7, russian.RougeL.F1);
    }

    [Fact]
    public void StemmingIsOffByDefaultAndTouchesOnlyTokensLongerThanThree()
    {
        Near(0, Plain.Score("running dogs", "runs dog").Rouge1.F1);
        var stemming = new Rouge(stem: true);
        Assert.Equal(["run", "dog", "dog", "run"], stemming.Tokenize("running dogs dog runs"));
        Assert.Equal(["was", "has"], stemming.Tokenize("was has"));         // 3 letters: never stemmed (Porter would give "wa", "ha")
        Near(1, stemming.Score("running dogs", "runs dog").Rouge1.F1);
    }

    [Fact]
    public void RougeLsumTakesTheUnionLcsPerReferenceLineAndCountsNoTokenTwice()
    {
        // Lin (2004), section 3.2: r = w1 w2 w3 w4 w5; c1 = w1 w2 w6 w7 w8 and c2 = w1 w3 w8 w9 w5.
        // LCS(r, c1) = w1 w2, LCS(r, c2) = w1 w3 w5; the union w1 w2 w3 w5 gives 4 hits of 5 reference and 10 prediction tokens.
        RougeScore s = Plain.Score("w1 w2 w3 w4 w5", "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5").RougeLsum;
        Near(4.0 / 10, s.Precision);
        Near(4.0 / 5, s.Recall);
        Near(2 * 0.4 * 0.8 / 1.2, s.F1);
        // Two reference lines "a b" against one prediction line "a b": the prediction's a and b are used up by the first line.
        RougeScore twice = Plain.Score("a b\na b", "a b").RougeLsum;
        Near(1, twice.Precision);
        Near(0.5, twice.Recall);
        // Blank lines are dropped.
        Near(s.F1, Plain.Score("w1 w2 w3 w4 w5\n\n", "\nw1 w2 w6 w7 w8\n\nw1 w3 w8 w9 w5").RougeLsum.F1);
    }

    [Fact]
    public void TheCorpusFigureIsTheMeanOfTheExamples()
    {
        RougeSummary s = Plain.Corpus(["a b c", "x y", "p q"], ["a b c", "z", "p"]);
        Assert.Equal(3, s.Examples);
        Near((1 + 0 + 2.0 / 3) / 3, s.Rouge1.F1);
        Near((1 + 0 + 1) / 3.0, s.Rouge1.Precision);
        Assert.Throws<ArgumentException>(() => Plain.Corpus(["a"], []));
    }

    [Fact]
    public void ThePorterStemmerAgreesWithNltkOnTwelveThousandWords()
    {
        // tests/golden/make_stems.py: NLTK 3.8's PorterStemmer (NLTK_EXTENSIONS, as rouge-score uses it).
        string path = Path.Combine(TestSupport.TestPaths.RepoRoot, "tests", "golden", "porter_nltk.tsv");
        var wrong = new List<string>();
        int n = 0;
        foreach (string line in File.ReadLines(path))
        {
            string[] parts = line.Split('\t');
            string ours = PorterStemmer.Stem(parts[0]);
            if (ours != parts[1]) wrong.Add($"{parts[0]}: NLTK {parts[1]}, ours {ours}");
            ++n;
        }
        Assert.True(n > 12000);
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {n} differ: {string.Join("; ", wrong.Take(20))}");
    }
}
