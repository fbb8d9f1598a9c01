using Slovo.Classification;
using Slovo.Encoders;
using Slovo.LanguageModels;
using Slovo.Serving;
using Slovo.Text;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch;

namespace Slovo.Serving.Tests;

/// <summary>Small models with fixed random weights: a char GPT, a char LSTM, a BERT encoder and an LSTM classifier.</summary>
internal static class TestModels
{
    public static readonly string[] Texts =
    [
        "we propose a new method for language modelling",
        "the results show that the model learns quickly",
        "Я помню чудное мгновенье",
        "a simple baseline beats the state of the art",
    ];

    public static CharVocabulary Chars() => CharVocabulary.Build(Texts);

    /// <summary>A 2-layer char GPT (context 96). Weights are drawn with a larger spread than GPT-2's start, so that greedy
    /// choices are clear-cut (no near-ties that float rounding could flip). Every draw, the biases' too, comes from the seed,
    /// not from the process's generator (which test classes running in parallel draw from in no fixed order).</summary>
    public static LanguageModel Gpt(int seed = 7)
    {
        CharVocabulary vocab = Chars();
        var gpt = RandomGenerator.Seeded((ulong)seed, () => new GptModel(new GptConfig
        {
            Layers = 2, Heads = 2, Width = 32, Positions = 96, VocabSize = vocab.Size,
            EmbeddingDropout = 0, AttentionDropout = 0, ResidualDropout = 0,
        }));
        using (LibTorch.NoGrad())
        using (var generator = new RandomGenerator((ulong)seed))
            foreach (Tensor p in gpt.Parameters())
                if (p.Dim == 2) p.Normal_(0, 0.3, generator);
        gpt.Eval();
        return LanguageModel.Of(gpt, vocab);
    }

    /// <summary>A 2-layer char LSTM.</summary>
    public static LanguageModel Lstm(int seed = 7)
    {
        CharVocabulary vocab = Chars();
        var rnn = new RnnLanguageModel(new RnnLanguageModelOptions { VocabSize = vocab.Size, EmbeddingSize = 24, HiddenSize = 48, Layers = 2, PadId = vocab.PadId });
        using (LibTorch.NoGrad())
        using (var generator = new RandomGenerator((ulong)seed))
            foreach (Tensor p in rnn.Parameters())
                p.Uniform_(-0.5, 0.5, generator);
        rnn.Eval();
        return LanguageModel.Of(rnn, vocab);
    }

    public static TextEncoder Encoder()
    {
        string[] words = ["how", "do", "i", "install", "a", "package", "on", "ubuntu", "the", "best", "editor", "what", "is", "##s", "##ing"];
        var vocab = new Dictionary<string, int>();
        foreach (string t in BertVocab.SpecialTokens.Concat(words)) vocab[t] = vocab.Count;
        var model = RandomGenerator.Seeded(7, () => new BertModel(new BertConfig { VocabSize = vocab.Count, Width = 16, Layers = 1, Heads = 2, Intermediate = 32, Positions = 64, HiddenDropout = 0, AttentionDropout = 0 }));
        return new TextEncoder(model, BertVocab.Create(vocab), 64);
    }

    public static TrainedClassifier Classifier()
    {
        WordVocabulary vocab = WordVocabulary.Build(["a wonderful film", "a dull mess", "loved it", "hated it"]);
        var model = RandomGenerator.Seeded(7, () => new TextClassifier(new ClassifierOptions { VocabSize = vocab.Size, PadId = vocab.PadId, Classes = 2, EmbeddingSize = 8, HiddenSize = 8 }));
        model.Eval();
        return TrainedClassifier.Of(model, vocab, 64);
    }

    public static ServedModels All() => new()
    {
        Generator = Gpt(), GeneratorId = "tiny-gpt",
        Embedder = Encoder(), EmbedderId = "tiny-bert",
        Classifier = Classifier(), ClassifierId = "tiny-classifier",
    };
}
