using Slovo.Torch.Native;

namespace Slovo.Torch.NN;

/// <summary>A lookup table of vectors: indices (any shape) → vectors (shape + [dim]).</summary>
public sealed class Embedding : Module<Tensor, Tensor>
{
    private static readonly Op s_embedding = new("embedding");

    /// <summary>The table, shape (num, dim).</summary>
    public Tensor Weight { get; }

    /// <summary>The index whose vector stays zero and gets no gradient, or null.</summary>
    public long? PaddingIdx { get; }

    /// <summary>Creates a table initialised N(0, 1), with the padding row zeroed.</summary>
    public Embedding(long numEmbeddings, long embeddingDim, long? paddingIdx = null)
        : this(Tensor.RandN([numEmbeddings, embeddingDim]), paddingIdx, freeze: false, zeroPadding: true)
    {
    }

    /// <summary>Creates a table in <paramref name="dtype"/> (made in that type, no float32 copy), initialised N(0, 1).</summary>
    public Embedding(long numEmbeddings, long embeddingDim, ScalarType dtype)
        : this(Tensor.RandN([numEmbeddings, embeddingDim], dtype), null, freeze: false, zeroPadding: false)
    {
    }

    private Embedding(Tensor weight, long? paddingIdx, bool freeze, bool zeroPadding)
    {
        if (weight.Dim != 2) throw new ArgumentException($"embedding weights must be 2-d, got {weight.Dim}-d", nameof(weight));
        long num = weight.Size(0);
        if (paddingIdx is { } p && (p < -num || p >= num))
            throw new ArgumentOutOfRangeException(nameof(paddingIdx), paddingIdx, $"must be within the {num} embeddings");
        PaddingIdx = paddingIdx is { } q && q < 0 ? q + num : paddingIdx;
        Weight = RegisterParameter("weight", weight, requiresGrad: !freeze);
        if (zeroPadding && PaddingIdx is { } pad)
        {
            using var g = LibTorch.NoGrad();
            using Tensor row = Weight[pad];
            row.Zero_();
        }
    }

    /// <summary>Wraps pretrained vectors (copied); <paramref name="freeze"/> keeps them fixed during training.</summary>
    public static Embedding FromPretrained(Tensor embeddings, bool freeze = true, long? paddingIdx = null)
    {
        Tensor copy;
        using (LibTorch.NoGrad()) copy = embeddings.Detach().Clone().DetachFromScope();
        return new Embedding(copy, paddingIdx, freeze, zeroPadding: false);
    }

    /// <summary>Whether the vectors are trained.</summary>
    public bool Frozen
    {
        get => !Weight.RequiresGrad;
        set => Weight.RequiresGrad = !value;
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => Functional(input, Weight, PaddingIdx);

    /// <summary>The functional form.</summary>
    public static Tensor Functional(Tensor input, Tensor weight, long? paddingIdx = null) =>
        s_embedding.Call(weight, input, paddingIdx ?? -1, false, false);
}

/// <summary>How <see cref="EmbeddingBag"/> reduces each bag.</summary>
public enum BagMode
{
    /// <summary>Sum of the vectors.</summary>
    Sum = 0,
    /// <summary>Mean of the vectors.</summary>
    Mean = 1,
    /// <summary>Elementwise maximum.</summary>
    Max = 2,
}

/// <summary>Sums, averages or maxes bags of embeddings without building the intermediate (bags, len, dim) tensor.</summary>
public sealed class EmbeddingBag : Module
{
    private static readonly Op s_embeddingBag = new("embedding_bag");

    /// <summary>The table, shape (num, dim).</summary>
    public Tensor Weight { get; }

    /// <summary>The reduction.</summary>
    public BagMode Mode { get; }

    /// <summary>Creates a table initialised N(0, 1).</summary>
    public EmbeddingBag(long numEmbeddings, long embeddingDim, BagMode mode = BagMode.Mean)
    {
        Mode = mode;
        Weight = RegisterParameter("weight", Tensor.RandN([numEmbeddings, embeddingDim]));
    }

    /// <summary>
    /// Bags given as a flat index tensor with <paramref name="offsets"/> (start of each bag), or as a 2-d
    /// (bags, len) tensor of fixed-size bags when <paramref name="offsets"/> is null.
    /// </summary>
    public Tensor Forward(Tensor input, Tensor? offsets = null, Tensor? perSampleWeights = null) =>
        Functional(input, Weight, offsets, Mode, perSampleWeights);

    /// <summary>The functional form.</summary>
    public static Tensor Functional(Tensor input, Tensor weight, Tensor? offsets, BagMode mode = BagMode.Mean, Tensor? perSampleWeights = null)
    {
        using var scope = DisposeScope.Begin();
        Tensor flat = input, offs;
        if (offsets is null)
        {
            if (input.Dim != 2) throw new ArgumentException("without offsets, input must be 2-d (bags, length)", nameof(input));
            long bags = input.Size(0), len = input.Size(1);
            flat = input.Reshape(-1);
            offs = Tensor.Arange(0, bags * len, Math.Max(len, 1));
            if (perSampleWeights is not null) perSampleWeights = perSampleWeights.Reshape(-1);
        }
        else
        {
            if (input.Dim != 1) throw new ArgumentException("with offsets, input must be 1-d", nameof(input));
            offs = offsets;
        }
        Tensor?[] r = s_embeddingBag.CallMany(weight, flat, offs, false, (long)mode, false, perSampleWeights, false);
        return scope.Keep(r[0]!);
    }
}
