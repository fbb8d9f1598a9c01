// check-packages' engine consumer: a project outside the repository that takes Slovo and Slovo.LlamaCpp from the local
// feed (with LLamaSharp's CPU backend), loads a GGUF file, and decodes it greedily with Slovo's torch engine and with
// llama.cpp behind it; the two must give the same tokens.
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.LlamaCpp;

string gguf = args[0];
using LanguageModel torch = LanguageModel.Load(gguf), engine = LanguageModel.Load(gguf);
using LlamaCppBackend backend = LlamaCppEngine.Use(engine, new LlamaCppOptions { Context = 128, MaxRows = 1 });
IReadOnlyList<int> prompt = torch.EncodePrompt("Once upon a time");
var greedy = new GenerationOptions { MaxTokens = 16, Greedy = true };
IReadOnlyList<int> a = torch.Generate(prompt, greedy).Tokens, b = engine.Generate(prompt, greedy).Tokens;
Console.WriteLine($"torch:    {string.Join(' ', a)}");
Console.WriteLine($"llamacpp: {string.Join(' ', b)}");
if (!a.SequenceEqual(b)) { Console.Error.WriteLine("the engines gave different tokens"); return 1; }
Console.WriteLine("engines agree");
return 0;
