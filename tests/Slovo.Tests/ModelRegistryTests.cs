using System.Text.Json;
using Slovo.Classification;
using Slovo.Encoders;
using Slovo.LanguageModels;
using Slovo.Models;
using Slovo.TestSupport;
using Slovo.Text;
using Slovo.Training;

namespace Slovo.Tests;

/// <summary>The model registry: one entry point that finds a model's family by its files and loads it for the task asked.</summary>
public class ModelRegistryTests
{
    private static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "slovo-registry-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static Vocabulary Chars() => CharVocabulary.Build(["abc cab", "bca"]);

    [Fact]
    public void AHuggingFaceFolderIsReadByItsModelType()
    {
        string tiny = TestPaths.SharedModel("tiny-random-gpt2");
        (ModelFamily family, ModelLocation location) = ModelRegistry.Default.Resolve(tiny);
        Assert.Equal("gpt2", family.Name);
        Assert.Equal(typeof(GptConfig), family.Config);
        Assert.Null(location.Run);
        using LanguageModel lm = ModelRegistry.Default.LoadLanguageModel(tiny);
        Assert.Equal("gpt", lm.Kind);
        Assert.False(lm.PromptsStartWithSos); // a Hugging Face folder reads prompts as Hugging Face encodes them
        Assert.Equal(1000, ((GptModel)lm.Module).VocabSize);
    }

    [Fact]
    public void ARecurrentModelFileAndTheFolderHoldingItLoadTheSameWeights()
    {
        string dir = TempDir();
        Vocabulary vocab = Chars();
        using var model = new RnnLanguageModel(new RnnLanguageModelOptions { VocabSize = vocab.Size, Kind = Slovo.Torch.NN.RecurrentKind.Gru, HiddenSize = 8, EmbeddingSize = 4 });
        model.Save(Path.Combine(dir, RunFolder.ModelFile), vocab);
        foreach (string path in new[] { dir, Path.Combine(dir, RunFolder.ModelFile) })
        {
            Assert.Equal("rnn-lm", ModelRegistry.Default.Resolve(path).Family.Name);
            using LanguageModel lm = LanguageModel.Load(path);
            Assert.Equal("gru", lm.Kind);
            Assert.Equal(vocab.ToJson(), lm.Vocabulary.ToJson());
            Slovo.Torch.Tensor a = model.StateDict()["head.weight"], b = lm.Module.StateDict()["head.weight"];
            Assert.True(a.Equal(b));
        }
    }

    [Fact]
    public void AClassifierLoadsAsAClassifierAndIsRefusedAsALanguageModel()
    {
        string dir = TempDir();
        Vocabulary vocab = WordVocabulary.Build(["good film", "bad film"], lowercase: true, minCount: 1, maxSize: 100);
        using var model = new TextClassifier(new ClassifierOptions { VocabSize = vocab.Size, PadId = vocab.PadId, EmbeddingSize = 4, HiddenSize = 4 });
        model.Save(Path.Combine(dir, RunFolder.ModelFile), vocab, 16);
        using TrainedClassifier loaded = ModelRegistry.Default.LoadClassifier(dir);
        Assert.Equal("lstm", loaded.Architecture);
        Assert.Equal(2, loaded.Classes);
        float[][] expected = ClassifierTrainer.Probabilities(model, EncodedSet.Create(vocab, ["good film"], maxLength: 16));
        Assert.Equal(expected[0], loaded.Probabilities(["good film"])[0]);
        var e = Assert.Throws<InvalidDataException>(() => ModelRegistry.Default.LoadLanguageModel(dir));
        Assert.Contains("holds a text classifier (text-classifier), not a language model", e.Message);
        e = Assert.Throws<InvalidDataException>(() => ModelRegistry.Default.LoadEncoder(dir));
        Assert.Contains("not a sentence encoder", e.Message);
    }

    [Fact]
    public void AnUnknownModelTypeAndAnEmptyFolderAreErrorsThatSayWhatIsRead()
    {
        string dir = TempDir();
        var e = Assert.Throws<InvalidDataException>(() => ModelRegistry.Default.Resolve(dir));
        Assert.Contains("looked for model.safetensors", e.Message);
        Assert.Contains("gpt2, bert", e.Message);
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(new { model_type = "falcon" }));
        e = Assert.Throws<InvalidDataException>(() => ModelRegistry.Default.Resolve(dir));
        Assert.Contains("model_type 'falcon' is not one Slovo reads (it reads gpt2, bert, minilm, llama, mistral, qwen2, qwen3, gemma2, gemma3_text, phi3)", e.Message);
        Assert.Throws<FileNotFoundException>(() => ModelRegistry.Default.Resolve(Path.Combine(dir, "missing")));
    }

    [Fact]
    public void EveryFamilyIsRegisteredOnceAndAClaimedModelTypeIsRefused()
    {
        IReadOnlyList<ModelFamily> families = ModelRegistry.Default.Families;
        Assert.Equal(families.Count, families.Select(f => f.Name).Distinct().Count());
        Assert.Equal(new[] { ModelTask.LanguageModel, ModelTask.Encoder, ModelTask.Classifier }.Order(), families.Select(f => f.Task).Distinct().Order());
        Assert.All(families, f => Assert.True(f.ModelTypes.Count > 0 || f.Format is not null, $"{f.Name} is recognised by nothing"));
        var copy = new ModelRegistry();
        foreach (ModelFamily f in families) copy.Register(f);
        Assert.Throws<ArgumentException>(() => copy.Register(families[0]));
    }

    [Fact]
    public void ARunFolderWritesAtomicallyAndReadsBackItsSummary()
    {
        var run = new RunFolder(Path.Combine(TempDir(), "run")).Create();
        Assert.True(run.Writes);
        run.WriteSummary(new RunSummary { Task = "language-model", Model = "lstm", Best = new Dictionary<string, double> { ["loss"] = 1.5 }, Steps = 7 });
        RunSummary back = run.ReadSummary()!;
        Assert.Equal(("language-model", "lstm", 1.5, 7L), (back.Task, back.Model, back.Best["loss"], back.Steps));
        Assert.Empty(Directory.GetFiles(run.Path, "*.tmp", SearchOption.AllDirectories));
        File.WriteAllText(run[RunFolder.TrainingFile], "{");
        var e = Assert.Throws<InvalidDataException>(() => run.ReadJson<GptTrainingOptions>(RunFolder.TrainingFile, "training options"));
        Assert.Contains("training.json is not a run's training options", e.Message);
        Assert.Null(run.ReadJson<GptTrainingOptions>("absent.json", "training options"));
    }
}
