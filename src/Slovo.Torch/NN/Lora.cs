namespace Slovo.Torch.NN;

// Shapes: N any leading dimensions, I in features, O out features, R rank.

/// <summary>
/// A low-rank adapter on one <see cref="Linear"/> (LoRA): y = x Wᵀ + b + s · dropout(x) Aᵀ Bᵀ, with A (R, I) and B (O, R) its
/// only trainable weights and s its scale (α / R, or α / √R for rank-stabilised LoRA). A starts as <see cref="Linear"/>'s
/// own initialisation and B at zero, so a fresh adapter leaves the layer's output unchanged. Its parameters are named as
/// PEFT names them under the layer: <c>lora_A.weight</c> and <c>lora_B.weight</c>.
/// </summary>
public sealed class LoraLayer : Module
{
    private readonly Linear _a, _b;

    /// <summary>An adapter of rank <paramref name="rank"/> for a layer of <paramref name="inFeatures"/> → <paramref name="outFeatures"/>,
    /// belonging to <paramref name="owner"/> (the adapter as a whole, which <see cref="Select"/> picks by).</summary>
    public LoraLayer(long inFeatures, long outFeatures, int rank, double scale, double dropout, object owner)
    {
        if (rank <= 0) throw new ArgumentOutOfRangeException(nameof(rank), rank, "the LoRA rank must be positive");
        if (dropout is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "LoRA dropout must be in [0, 1)");
        ArgumentNullException.ThrowIfNull(owner);
        _a = RegisterModule("lora_A", new Linear(inFeatures, rank, bias: false));
        _b = RegisterModule("lora_B", new Linear(rank, outFeatures, bias: false));
        using (LibTorch.NoGrad()) _b.Weight.Zero_();
        (Rank, Scale, DropoutRate, Owner) = (rank, scale, dropout, owner);
    }

    /// <summary>A, shape (R, I).</summary>
    public Tensor A => _a.Weight;

    /// <summary>B, shape (O, R).</summary>
    public Tensor B => _b.Weight;

    /// <summary>The rank R.</summary>
    public int Rank { get; }

    /// <summary>The factor s on the low-rank product.</summary>
    public double Scale { get; }

    /// <summary>The dropout rate on the adapter's input (in training only).</summary>
    public double DropoutRate { get; }

    /// <summary>The adapter this layer is part of.</summary>
    public object Owner { get; }

    /// <summary>s · dropout(x) Aᵀ Bᵀ, shape (N, O).</summary>
    public Tensor Delta(Tensor input, bool training)
    {
        using var scope = DisposeScope.Begin();
        Tensor x = DropoutRate > 0 ? Dropout.Functional(input, DropoutRate, training) : input;
        if (x.DType != A.DType) x = x.To(A.DType);
        Tensor y = Linear.Functional(Linear.Functional(x, A), B).Mul(Scale);
        if (y.DType != input.DType) y = y.To(input.DType);
        return y.MoveToOuterScope();
    }

    /// <summary>s · B A, shape (O, I): what merging adds to the layer's weight.</summary>
    public Tensor WeightDelta()
    {
        using var scope = DisposeScope.Begin();
        return B.MatMul(A).Mul(Scale).MoveToOuterScope();
    }

    [ThreadStatic] private static bool t_selected;
    [ThreadStatic] private static object? t_owner;

    /// <summary>
    /// Chooses, on this thread until the returned scope ends, which adapter the layers apply: <paramref name="owner"/>'s, or with
    /// null none (the base model). Without a choice a layer applies the adapter attached to it last. A server that holds one base
    /// model with several adapters runs each adapter's requests on a thread that has selected it.
    /// </summary>
    public static SelectionScope Select(object? owner)
    {
        var scope = new SelectionScope(t_selected, t_owner);
        (t_selected, t_owner) = (true, owner);
        return scope;
    }

    internal static LoraLayer? Pick(List<LoraLayer> layers)
    {
        if (!t_selected) return layers.Count > 0 ? layers[^1] : null;
        if (t_owner is null) return null;
        foreach (LoraLayer l in layers)
            if (ReferenceEquals(l.Owner, t_owner)) return l;
        return null;
    }

    /// <summary>Puts the previous choice back when disposed.</summary>
    public readonly struct SelectionScope : IDisposable
    {
        private readonly bool _selected;
        private readonly object? _owner;

        internal SelectionScope(bool selected, object? owner) => (_selected, _owner) = (selected, owner);

        /// <summary>Restores the previous choice.</summary>
        public void Dispose() => (t_selected, t_owner) = (_selected, _owner);
    }
}
