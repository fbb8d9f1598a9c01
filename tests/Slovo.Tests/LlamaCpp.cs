using LLama;
using LLama.Common;
using LLama.Native;

namespace Slovo.Tests;

/// <summary>
/// llama.cpp (through LLamaSharp and its CPU backend) as the independent implementation of GGUF files, their tokenizers and
/// the decoder architectures: logits of every prompt position, greedy continuations, and tokenization. The KV cache is kept
/// in float32 and flash attention off, so that its logits are comparable with float32 torch to 1e-4.
/// </summary>
internal sealed class LlamaCpp : IDisposable
{
    private static readonly object s_gate = new();
    private static bool s_configured;
    private static readonly Queue<string> s_log = new();
    private readonly LLamaWeights _weights;
    private readonly ModelParams _params;

    public LlamaCpp(string gguf, uint context = 256)
    {
        lock (s_gate)
        {
            if (!s_configured)
            {
                NativeLogConfig.LLamaLogCallback callback = (level, message) =>
                {
                    if (level is LLamaLogLevel.Error or LLamaLogLevel.Warning)
                        lock (s_log) { s_log.Enqueue(message.TrimEnd()); while (s_log.Count > 20) s_log.Dequeue(); }
                };
                try { NativeLibraryConfig.All.WithLogCallback(callback); }
                catch (InvalidOperationException) { NativeLogConfig.llama_log_set(callback); } // the engine loaded llama.cpp first
                s_configured = true;
            }
        }
        _params = new ModelParams(gguf)
        {
            ContextSize = context, Threads = 2, BatchThreads = 2, GpuLayerCount = 0, TypeK = GGMLType.GGML_TYPE_F32, TypeV = GGMLType.GGML_TYPE_F32,
            FlashAttention = false, BatchSize = context, UBatchSize = context,
        };
        try { _weights = LLamaWeights.LoadFromFile(_params); }
        catch (Exception e)
        {
            string log;
            lock (s_log) log = string.Join(" | ", s_log);
            throw new InvalidOperationException($"llama.cpp could not load {gguf}: {e.Message}; its log: {log}", e);
        }
    }

    /// <summary>The file's metadata as llama.cpp read it.</summary>
    public IReadOnlyDictionary<string, string> Metadata => _weights.Metadata;

    /// <summary>The ids of <paramref name="text"/>, special tokens parsed, without a start token.</summary>
    public int[] Tokenize(string text, bool addBos = false)
    {
        using LLamaContext ctx = _weights.CreateContext(_params);
        return ctx.Tokenize(text, addBos, special: true).Select(t => (int)t).ToArray();
    }

    /// <summary>Next-token logits after every position of <paramref name="ids"/>.</summary>
    public float[][] Logits(IReadOnlyList<int> ids)
    {
        using LLamaContext ctx = _weights.CreateContext(_params);
        var batch = new LLamaBatch();
        for (int i = 0; i < ids.Count; ++i) batch.Add(ids[i], i, LLamaSeqId.Zero, true);
        Decode(ctx, batch);
        return Enumerable.Range(0, ids.Count).Select(i => ctx.NativeHandle.GetLogitsIth(i).ToArray()).ToArray();
    }

    /// <summary>The <paramref name="count"/> tokens greedy decoding adds after <paramref name="prompt"/> (argmax, lowest id on ties).</summary>
    public int[] Greedy(IReadOnlyList<int> prompt, int count)
    {
        using LLamaContext ctx = _weights.CreateContext(_params);
        var batch = new LLamaBatch();
        for (int i = 0; i < prompt.Count; ++i) batch.Add(prompt[i], i, LLamaSeqId.Zero, i == prompt.Count - 1);
        Decode(ctx, batch);
        var result = new List<int>();
        int position = prompt.Count;
        for (int n = 0; n < count; ++n)
        {
            ReadOnlySpan<float> logits = ctx.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
            int best = 0;
            for (int v = 1; v < logits.Length; ++v) if (logits[v] > logits[best]) best = v;
            result.Add(best);
            batch.Clear();
            batch.Add(best, position++, LLamaSeqId.Zero, true);
            Decode(ctx, batch);
        }
        return result.ToArray();
    }

    private static void Decode(LLamaContext ctx, LLamaBatch batch)
    {
        DecodeResult r = ctx.Decode(batch);
        if (r != DecodeResult.Ok) throw new InvalidOperationException($"llama.cpp could not decode: {r}");
    }

    public void Dispose() => _weights.Dispose();
}
