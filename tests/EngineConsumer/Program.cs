// check-packages' engine consumer: a project outside the repository that takes Slovo, Slovo.LlamaCpp and Slovo.OnnxRuntime
// from the local feed (with LLamaSharp's CPU backend and ONNX Runtime's CPU library). It loads a GGUF file and decodes it
// greedily with Slovo's torch engine and with llama.cpp behind it: the two must give the same tokens. Then it embeds texts
// with a small BERT on torch and on ONNX Runtime: the two must agree within 1e-4.
using Slovo.Encoders;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.LlamaCpp;
using Slovo.OnnxRuntime;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch;

string gguf = args[0];
using LanguageModel torch = LanguageModel.Load(gguf), engine = LanguageModel.Load(gguf);
using LlamaCppBackend backend = LlamaCppEngine.Use(engine, new LlamaCppOptions { Context = 128, MaxRows = 1 });
IReadOnlyList<int> prompt = torch.EncodePrompt("Once upon a time");
var greedy = new GenerationOptions { MaxTokens = 16, Greedy = true };
IReadOnlyList<int> a = torch.Generate(prompt, greedy).Tokens, b = engine.Generate(prompt, greedy).Tokens;
Console.WriteLine($"torch:    {string.Join(' ', a)}");
Console.WriteLine($"llamacpp: {string.Join(' ', b)}");
if (!a.SequenceEqual(b)) { Console.Error.WriteLine("the engines gave different tokens"); return 1; }
Console.WriteLine("decoder engines agree");

var vocab = new Dictionary<string, int> { ["[PAD]"] = 0, ["[UNK]"] = 1, ["[CLS]"] = 2, ["[SEP]"] = 3, ["[MASK]"] = 4, ["once"] = 5, ["upon"] = 6, ["a"] = 7, ["time"] = 8 };
var config = new BertConfig { VocabSize = vocab.Count, Width = 32, Layers = 2, Heads = 4, Intermediate = 64, Positions = 32 };
using var encoder = new TextEncoder(RandomGenerator.Seeded(1, () => new BertModel(config)), BertVocab.Create(vocab), maxTokens: 32);
string[] texts = ["once upon a time", "a time", "upon"];
float[][] onTorch = encoder.Encode(texts);
OnnxRuntimeEngine.Use(encoder, new OnnxRuntimeOptions { CacheFolder = Path.Combine(Path.GetTempPath(), "slovo-engine-consumer") });
float[][] onOrt = encoder.Encode(texts);
double worst = onTorch.Zip(onOrt).Max(p => p.First.Zip(p.Second).Max(q => Math.Abs(q.First - q.Second)));
Console.WriteLine($"encoder engines: largest difference {worst:E1}");
if (worst > 1e-4) { Console.Error.WriteLine("the encoder engines disagree"); return 1; }
Console.WriteLine("engines agree");
return 0;
