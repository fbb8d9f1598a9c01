using Slovo.Generation;
using Slovo.Torch;
using Slovo.Torch.NN;

namespace Slovo.LanguageModels;

// Shapes: B rows, P positions cached, V vocabulary.

/// <summary>
/// The keys and values of every layer for the positions read so far: the generation state of a <see cref="CachedDecoder"/>
/// (keys and values hold only the model's key/value heads). A batch of left-padded prompts also carries which cached
/// positions are real (<see cref="Keep"/>, (B, P) bool) and each row's next position id (<see cref="Next"/>, (B) int64); a
/// single sequence has neither.
/// </summary>
public sealed record KvCache(IReadOnlyList<KeyValue> Layers, Tensor? Keep = null, Tensor? Next = null)
{
    /// <summary>Positions read.</summary>
    public long Length => Layers.Count == 0 ? 0 : Layers[0].Length;
}

/// <summary>
/// A transformer decoder with a key/value cache (GPT-2, and the Llama-architecture families): decoding one sequence, or
/// left-padded rows that join and leave a batch, all through <see cref="Forward(Tensor, KvCache?, Tensor?, Tensor?, bool)"/>. Rows of a batch get what they would get
/// alone: position ids count from each row's first real token, and padding is never attended to.
/// </summary>
public abstract class CachedDecoder : Module, IContinuousBatchModel<KvCache>
{
    /// <inheritdoc />
    public abstract int VocabSize { get; }

    /// <summary>Positions the model reads at most (GPT-2's n_positions, the open families' max_position_embeddings).</summary>
    public abstract int ContextLength { get; }

    /// <summary>"gpt" for GPT-2, else the family's model type.</summary>
    public abstract string Kind { get; }

    /// <summary>The config as it is saved (config.json's fields), for run records.</summary>
    public abstract object ConfigRecord { get; }

    /// <summary>The parameters trained without weight decay (biases, norms, embeddings).</summary>
    public abstract IEnumerable<Tensor> NoWeightDecayParameters();

    /// <summary>Writes the model as a Hugging Face folder.</summary>
    public abstract void SaveFolder(string dir);

    /// <summary>Reads the weights of a Hugging Face folder of this very config back into the model (e.g. a run's best epoch).</summary>
    public abstract void LoadFolderWeights(string dir);

    /// <summary>
    /// Whether training forward passes checkpoint each block (<see cref="Checkpoint"/>): its activations are recomputed in the
    /// backward pass instead of kept, trading about one more forward pass for the memory of all blocks' activations. It changes
    /// no result. Inference and cached decoding are never checkpointed.
    /// </summary>
    public bool CheckpointActivations { get; set; }

    /// <summary>Whether this forward pass checkpoints its blocks: asked for, in training, with autograd recording and no cache.</summary>
    protected bool Checkpointing(KvCache? cache)
    {
        if (!CheckpointActivations || !Training || !LibTorch.IsGradEnabled || cache is not null) return false;
        if (DrawsFromGlobalGenerator)
            throw new NotSupportedException("activation checkpointing replays dropout from the run's own generator, but this model's attention dropout draws from " +
                                            "libtorch's global one (the fused kernel); set its attention dropout to 0 or train without checkpointing");
        return true;
    }

    /// <summary>The name a module or parameter of this model has in its Hugging Face folder (GPT-2 adds "transformer."; the open
    /// families' names are Hugging Face's already). PEFT adapters name their weights by it.</summary>
    public virtual string HuggingFaceName(string name) => name;

    /// <summary>
    /// Logits (B, T, V) for <paramref name="ids"/> (B, T) read after the cached positions <paramref name="cache"/>, and the
    /// cache after them. <paramref name="keep"/> (B, P + T) marks real positions (false: padding, never attended to);
    /// <paramref name="positionIds"/> (B, T) gives each position's id (default: P, P + 1, …). With <paramref name="lastOnly"/>
    /// only the last position gets logits (B, 1, V).
    /// </summary>
    public abstract (Tensor Logits, KvCache Cache) Forward(Tensor ids, KvCache? cache, Tensor? keep, Tensor? positionIds, bool lastOnly);

    /// <summary>Logits (B, T, V) at every position of <paramref name="ids"/> (B, T) read after <paramref name="cache"/> (default: from
    /// the start), and the cache after them; see the other overload for <paramref name="keep"/> and <paramref name="positionIds"/>.</summary>
    public (Tensor Logits, KvCache Cache) Forward(Tensor ids, KvCache? cache = null, Tensor? keep = null, Tensor? positionIds = null) =>
        Forward(ids, cache, keep, positionIds, lastOnly: false);

    /// <inheritdoc />
    public (KvCache State, float[] Logits) Start(IReadOnlyList<int> prompt)
    {
        if (prompt.Count == 0) throw new ArgumentException("the prompt needs at least one token (e.g. <|endoftext|>)", nameof(prompt));
        return Step(prompt, null);
    }

    /// <inheritdoc />
    public (KvCache State, float[] Logits) Advance(KvCache state, int token) => Step([token], state);

    /// <summary>Reads prompts of different lengths as one left-padded batch, with an attention mask and position ids that
    /// start at each row's first real token, so every row gets what it would alone.</summary>
    public (KvCache State, float[][] Logits) StartBatch(IReadOnlyList<IReadOnlyList<int>> prompts)
    {
        if (prompts.Count == 0 || prompts.Any(p => p.Count == 0)) throw new ArgumentException("every prompt needs at least one token", nameof(prompts));
        int b = prompts.Count, length = prompts.Max(p => p.Count);
        var ids = new long[b * length];
        var keep = new bool[b * length];
        var positions = new long[b * length];
        var next = new long[b];
        for (int r = 0; r < b; ++r)
        {
            int pad = length - prompts[r].Count;
            for (int i = 0; i < prompts[r].Count; ++i)
            {
                ids[r * length + pad + i] = prompts[r][i];
                keep[r * length + pad + i] = true;
                positions[r * length + pad + i] = i;
            }
            next[r] = prompts[r].Count;
        }
        using var noGrad = LibTorch.NoGrad();
        using var scope = DisposeScope.Begin();
        return BatchStep(ToDevice(Tensor.From(ids, b, length)), null, ToDevice(Tensor.From(keep, b, length)), ToDevice(Tensor.From(positions, b, length)),
                         ToDevice(Tensor.From(next)));
    }

    /// <summary>Reads one more token per row of a batch started by <see cref="StartBatch"/>.</summary>
    public (KvCache State, float[][] Logits) AdvanceBatch(KvCache state, IReadOnlyList<int> tokens)
    {
        if (state.Keep is null || state.Next is null) throw new ArgumentException("the state did not come from StartBatch", nameof(state));
        using var noGrad = LibTorch.NoGrad();
        using var scope = DisposeScope.Begin();
        int b = tokens.Count;
        Tensor keep = Tensor.Cat([state.Keep, Tensor.Ones([b, 1], ScalarType.Bool, Device)], 1);                 // (B, P + 1)
        return BatchStep(ToDevice(Tensor.From(tokens.Select(t => (long)t).ToArray(), b, 1)), state, keep, state.Next.View(b, 1), state.Next.Add(1));
    }

    /// <summary>Joins two batched states: the one with fewer cached positions is left-padded (masked out) to the other's length.</summary>
    public KvCache Concat(KvCache first, KvCache second)
    {
        if (first.Keep is null || first.Next is null || second.Keep is null || second.Next is null)
            throw new ArgumentException("both states must come from StartBatch");
        using var noGrad = LibTorch.NoGrad();
        using var scope = DisposeScope.Begin();
        long length = Math.Max(first.Length, second.Length);
        Tensor Pad(Tensor t, long positions, int dim)
        {
            if (positions == 0) return t;
            long[] shape = t.Shape;
            shape[dim] = positions;
            return Tensor.Cat([Tensor.Zeros(shape, t.DType, t.Device), t], dim);
        }
        var layers = new KeyValue[first.Layers.Count];
        for (int i = 0; i < layers.Length; ++i)
        {
            KeyValue a = first.Layers[i], b = second.Layers[i];
            layers[i] = new KeyValue(Tensor.Cat([Pad(a.Key, length - a.Length, 2), Pad(b.Key, length - b.Length, 2)], 0).DetachFromScope(),
                                     Tensor.Cat([Pad(a.Value, length - a.Length, 2), Pad(b.Value, length - b.Length, 2)], 0).DetachFromScope());
        }
        Tensor keep = Tensor.Cat([Pad(first.Keep, length - first.Length, 1), Pad(second.Keep, length - second.Length, 1)], 0);
        return new KvCache(layers, keep.DetachFromScope(), Tensor.Cat([first.Next, second.Next], 0).DetachFromScope());
    }

    /// <summary>Keeps the given rows of a batched state, dropping the leading positions that are padding in every kept row.</summary>
    public KvCache Select(KvCache state, IReadOnlyList<int> rows)
    {
        if (state.Keep is null || state.Next is null) throw new ArgumentException("the state did not come from StartBatch", nameof(state));
        using var noGrad = LibTorch.NoGrad();
        using var scope = DisposeScope.Begin();
        Tensor index = Tensor.From(rows.Select(r => (long)r).ToArray()).To(state.Keep.Device);
        Tensor keep = state.Keep.IndexSelect(0, index);
        bool[] flags = keep.ToArray<bool>();                                                                     // (B, P), small
        long positions = state.Length;
        int start = (int)positions;
        for (int r = 0; r < rows.Count; ++r)
            for (int j = 0; j < start; ++j)
                if (flags[r * positions + j]) { start = j; break; }
        if (start == positions) start = 0;
        long length = state.Length - start;
        var layers = state.Layers.Select(kv => new KeyValue(kv.Key.IndexSelect(0, index).Narrow(2, start, length).Contiguous().DetachFromScope(),
                                                            kv.Value.IndexSelect(0, index).Narrow(2, start, length).Contiguous().DetachFromScope())).ToArray();
        return new KvCache(layers, keep.Narrow(1, start, length).Contiguous().DetachFromScope(), state.Next.IndexSelect(0, index).DetachFromScope());
    }

    /// <inheritdoc />
    public void Release(KvCache state)
    {
        foreach (KeyValue kv in state.Layers)
        {
            kv.Key.Dispose();
            kv.Value.Dispose();
        }
        state.Keep?.Dispose();
        state.Next?.Dispose();
    }

    private (KvCache, float[][]) BatchStep(Tensor ids, KvCache? cache, Tensor keep, Tensor positions, Tensor next)
    {
        (Tensor logits, KvCache after) = Forward(ids, cache, keep, positions, lastOnly: true);                   // (B, 1, V)
        float[] last = logits.Narrow(1, logits.Size(1) - 1, 1).To(ScalarType.Float32).Contiguous().ToArray<float>();              // (B, 1, V)
        var rows = new float[ids.Size(0)][];
        for (int r = 0; r < rows.Length; ++r) rows[r] = last.AsSpan(r * VocabSize, VocabSize).ToArray();
        foreach (KeyValue kv in after.Layers)
        {
            kv.Key.DetachFromScope();
            kv.Value.DetachFromScope();
        }
        return (new KvCache(after.Layers, keep.DetachFromScope(), next.DetachFromScope()), rows);
    }

    private (KvCache, float[]) Step(IReadOnlyList<int> tokens, KvCache? cache)
    {
        using var noGrad = LibTorch.NoGrad();
        using var scope = DisposeScope.Begin();
        Tensor ids = ToDevice(Tensor.From(tokens.Select(t => (long)t).ToArray(), 1, tokens.Count));              // (1, T)
        (Tensor logits, KvCache next) = Forward(ids, cache, null, null, lastOnly: true);
        float[] last = logits[0, -1].To(ScalarType.Float32).ToArray<float>();                                                            // (V)
        foreach (KeyValue kv in next.Layers)
        {
            kv.Key.DetachFromScope();
            kv.Value.DetachFromScope();
        }
        return (next, last);
    }
}
