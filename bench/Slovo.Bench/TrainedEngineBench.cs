using System.Diagnostics;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.LlamaCpp;
using Slovo.Models;
using Slovo.Torch;
using Slovo.Torch.Serialization;

/// <summary>
/// engine-trained MODEL TEXTS [N]: a trained model through every engine. Perplexity on held-out texts, each token scored
/// through the decoding seam (the scores an engine gives while it decodes the text), against the torch engine in float32;
/// and greedy continuations of the texts' first halves (run to the model's context, the end token held back), token by
/// token against the torch engine in float32.
/// </summary>
internal static class TrainedEngineBench
{
    public static int Run(string[] args)
    {
        if (args.Length < 3)
        {
            Console.Error.WriteLine("usage: engine-trained MODEL TEXTS [N [--held-out-of-lines K]]   (a trained run or folder; held-out texts one per line, or the texts lm train held out of a corpus of K-line texts)");
            return 2;
        }
        string model = args[1];
        int n = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 500;
        List<string> texts;
        if (args.Length > 5 && args[4] == "--held-out-of-lines")
        {
            // The validation texts 'slovo lm train --format lines --lines-per-text K' held out (10%, seed 1).
            int k = int.Parse(args[5], System.Globalization.CultureInfo.InvariantCulture);
            List<string> all = Slovo.Text.Corpus.JoinLines(Slovo.Text.Corpus.Read(args[2], "lines"), k);
            texts = Slovo.Text.Corpus.Split(all, 0.1, 1).Valid.Take(n).ToList();
        }
        else texts = File.ReadLines(args[2]).Where(t => t.Trim().Length > 0).Take(n).ToList();
        LibTorch.Threads = Environment.ProcessorCount;
        var engines = new List<(string Name, LanguageModel Lm, IDisposable? Engine)>();
        foreach ((string name, ScalarType dtype) in new[] { ("torch fp32", ScalarType.Float32), ("torch bf16", ScalarType.BFloat16) })
            engines.Add((name, ModelRegistry.Default.LoadLanguageModel(model, new ModelLoadOptions { DType = dtype }), null));
        foreach (GgmlType type in new[] { GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0 })
        {
            LanguageModel lm = LanguageModel.Load(model);
            engines.Add(($"llamacpp {type}", lm, LlamaCppEngine.Use(lm, new LlamaCppOptions { Type = type, MaxRows = 1, CacheFolder = Path.Combine(Path.GetTempPath(), "slovo-engine-trained") })));
        }
        LanguageModel reference = engines[0].Lm;
        int context = reference.Context ?? 1024;
        var ids = texts.Select(t => reference.EncodePrompt(t).Append(reference.Vocabulary.EosId).Take(context).ToList()).ToList();
        long tokens = ids.Sum(x => x.Count - 1);
        Console.WriteLine($"engines on {model} ({reference.Kind}, {reference.Module.ParameterCount():N0} parameters, context {context}): {texts.Count} texts of {args[2]}, {tokens:N0} scored tokens");
        double? basePpl = null;
        var greedyBase = new List<IReadOnlyList<int>>();
        foreach ((string name, LanguageModel lm, IDisposable? engine) in engines)
        {
            var clock = Stopwatch.StartNew();
            double nll = 0;
            foreach (List<int> text in ids)
            {
                using IDecodingBatch batch = lm.OpenBatch();
                float[] scores = batch.Add([text.Take(1).ToList()])[0];
                for (int k = 1; k < text.Count; ++k)
                {
                    nll -= LogitProcessor.LogProbability(scores, text[k]);
                    if (k + 1 < text.Count) scores = batch.Step([text[k]])[0];
                }
            }
            double ppl = Math.Exp(nll / tokens);
            basePpl ??= ppl;
            double seconds = clock.Elapsed.TotalSeconds;
            // Greedy continuations of the first 50 texts' first halves, to the context's end (the end token forbidden).
            int same = 0, compared = 0, identical = 0, prompts = 0;
            foreach ((string text, int i) in texts.Take(50).Select((t, i) => (t, i)))
            {
                IReadOnlyList<int> prompt = lm.EncodePrompt(text[..(text.Length / 2)]);
                int room = Math.Min(64, context - prompt.Count - 1);
                if (room < 1) continue;
                var options = new GenerationOptions { Greedy = true, MaxTokens = room, MinTokens = room, EosToken = lm.Vocabulary.EosId };
                IReadOnlyList<int> got = lm.Generate(prompt, options).Tokens;
                if (greedyBase.Count <= prompts) greedyBase.Add(got);
                IReadOnlyList<int> want = greedyBase[prompts++];
                int agree = want.Zip(got).TakeWhile(p => p.First == p.Second).Count();
                same += agree;
                compared += want.Count;
                if (agree == want.Count) ++identical;
            }
            Console.WriteLine($"  {name,-16} perplexity {ppl,9:F3} ({100 * (ppl / basePpl.Value - 1),+6:F2}% from torch fp32)   greedy: {identical}/{prompts} continuations identical, " +
                              $"{same}/{compared} tokens before the first difference ({seconds:F0} s)");
        }
        foreach ((_, LanguageModel lm, IDisposable? engine) in engines)
        {
            engine?.Dispose();
            lm.Dispose();
        }
        return 0;
    }
}
