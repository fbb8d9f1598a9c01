using Slovo.Torch.Native;

namespace Slovo.Torch.NN;

// Shapes: B batch, H heads, Tq queries, Tk keys (Tk ≥ Tq; with a cache the queries are the last Tq positions), D head size.

/// <summary>
/// Scaled dot-product attention. libtorch 2.x has it as one operator (<c>aten::scaled_dot_product_attention</c>, fused
/// and flash kernels on CUDA); 1.13 does not, and there it is written out as matmul, mask, softmax, matmul. The choice
/// is made once, by asking the dispatcher whether the operator exists.
/// </summary>
public static class Attention
{
    private static readonly Op s_sdpa = new("aten::scaled_dot_product_attention");
    private static readonly Lazy<bool> s_fused = new(() => s_sdpa.Exists);

    /// <summary>Whether the loaded libtorch has the fused operator.</summary>
    public static bool FusedAvailable => s_fused.Value;

    /// <summary>The most negative finite value of a floating-point type (what masked scores are set to, as Hugging Face does).</summary>
    public static double LowestOf(ScalarType dtype) => dtype switch
    {
        ScalarType.BFloat16 => -3.3895313892515355e38,
        ScalarType.Float16 => -65504,
        ScalarType.Float64 => double.MinValue,
        _ => float.MinValue,
    };

    /// <summary>
    /// Which keys each query may see under a causal mask, (Tq, Tk) bool: query i (the position Tk − Tq + i) sees keys
    /// 0 … Tk − Tq + i. With Tq = Tk it is the lower triangle.
    /// </summary>
    public static Tensor CausalMask(long queries, long keys, Device? device = null)
    {
        if (queries > keys) throw new ArgumentException($"{queries} queries cannot come after only {keys} keys", nameof(queries));
        using Tensor ones = Tensor.Ones([queries, keys], ScalarType.Bool, device);
        return ones.Tril(keys - queries);
    }

    /// <summary>
    /// softmax(q·kᵀ/√D + mask)·v. <paramref name="mask"/> is bool, broadcastable to (B, H, Tq, Tk), true where a query
    /// may attend (padding masks are (B, 1, 1, Tk)); <paramref name="causal"/> adds <see cref="CausalMask"/>. A query
    /// that may see no key gets the mean of the values, never NaN (masked scores are the type's lowest finite value, not
    /// −∞, as Hugging Face's GPT-2 does). Dropout on the attention weights applies in training. The fused operator draws
    /// that dropout from libtorch's global generator (it takes no other; see <see cref="DrawsFromGlobalGenerator"/>), the
    /// written-out path from the thread's <see cref="RandomGenerator"/>. A causal mask over as many queries as keys and no
    /// padding is passed to the fused operator as is_causal, which lets CUDA use its flash kernel. <paramref name="fused"/>
    /// forces a path (tests compare the two).
    /// </summary>
    public static Tensor ScaledDotProduct(Tensor q, Tensor k, Tensor v, Tensor? mask = null, bool causal = false, double dropout = 0,
                                          bool training = false, bool? fused = null)
    {
        if (dropout is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "must be in [0, 1)");
        bool dropping = training && dropout > 0;
        bool useFused = fused ?? FusedAvailable;
        if (useFused && !FusedAvailable) throw new NotSupportedException($"this libtorch ({LibTorch.Version}) has no aten::scaled_dot_product_attention");
        using var scope = DisposeScope.Begin();
        long queries = q.Size(-2), keys = k.Size(-2);
        if (useFused && causal && mask is null && queries == keys)
            return s_sdpa.Call(q, k, v, NativeArg.None, dropping ? dropout : 0.0, true).MoveToOuterScope();
        Tensor? allowed = mask;
        if (causal && queries > 1) // one query (the last position, as in cached decoding) sees every key anyway
        {
            Tensor triangle = CausalMask(queries, keys, q.Device);
            allowed = allowed is null ? triangle : allowed.LogicalAnd(triangle);
        }
        // The operator's is_causal aligns the triangle top-left, which is wrong for cached keys: there the mask says it all.
        if (useFused) return s_sdpa.Call(q, k, v, allowed, dropping ? dropout : 0.0, false).MoveToOuterScope();
        Tensor scores = q.MatMul(k.Transpose(-1, -2)).Mul(1 / Math.Sqrt(q.Size(-1)));     // (B, H, Tq, Tk)
        if (allowed is not null) scores = scores.MaskedFill(allowed.LogicalNot(), LowestOf(scores.DType)); // finite: a fully masked row stays a number
        Tensor weights = scores.Softmax(-1);
        if (dropping) weights = Dropout.Functional(weights, dropout, training: true);
        return weights.MatMul(v).MoveToOuterScope();                                          // (B, H, Tq, D)
    }

    /// <summary>Whether attention dropout of rate <paramref name="dropout"/> draws from libtorch's global generator (it does on the fused path).</summary>
    public static bool DrawsFromGlobalGenerator(double dropout) => dropout > 0 && FusedAvailable;
}

/// <summary>
/// The keys and values of the positions seen so far, per layer: (B, H, T, D) each. Made by <see cref="Append"/> outside
/// training, they are views of buffers with room for more positions, so that reading a token writes its key and value in
/// place instead of copying the whole cache.
/// </summary>
public sealed record KeyValue(Tensor Key, Tensor Value)
{
    // Shared by the states that view one pair of buffers. Only the state whose length equals Written may write after its
    // end; any other (an older state read again, a row copied in a batch) gets new buffers, so a returned state never changes.
    private sealed class Room(long capacity)
    {
        public long Capacity { get; } = capacity;
        public long Written { get; set; }
    }

    private Room? _room;

    /// <summary>Positions held.</summary>
    public long Length => Key.Size(-2);

    /// <summary>Positions the buffers behind <see cref="Key"/> and <see cref="Value"/> hold before they must grow (<see cref="Length"/> when they are plain tensors).</summary>
    public long Capacity => _room?.Capacity ?? Length;

    /// <summary>Off: every append concatenates, as in training (the bench compares the two).</summary>
    internal static bool InPlace { get; set; } = true;

    /// <summary>Whether both views share one pair of buffers (the second was written in place after the first).</summary>
    internal bool SharesBuffersWith(KeyValue other) => _room is not null && ReferenceEquals(_room, other._room);

    /// <summary>
    /// The cache after <paramref name="past"/> with the keys and values (B, H, T, D) of T more positions. With gradients
    /// on (training) it is a concatenation. Without them the new positions are written into <paramref name="past"/>'s
    /// buffers when they have room and no other state has written there; else into new buffers of the next power of two
    /// above the positions (at least 64), so a decoding loop allocates its cache O(log n) times rather than at every token,
    /// and the buffers come in few sizes, which a caching allocator reuses.
    /// </summary>
    public static KeyValue Append(KeyValue? past, Tensor key, Tensor value)
    {
        if (LibTorch.IsGradEnabled || !InPlace)
            return past is null ? new KeyValue(key, value) : new KeyValue(Tensor.Cat([past.Key, key], 2), Tensor.Cat([past.Value, value], 2));
        long p = past?.Length ?? 0, t = key.Size(2), length = p + t;
        using var scope = DisposeScope.Begin();
        Tensor keys, values;
        Room room;
        if (past?._room is { } shared && shared.Written == p && length <= shared.Capacity)
        {
            room = shared;
            keys = Whole(past.Key, room.Capacity);
            values = Whole(past.Value, room.Capacity);
        }
        else
        {
            room = new Room(Math.Max(64, (long)System.Numerics.BitOperations.RoundUpToPowerOf2((ulong)length + 1)));
            keys = Buffer(key, room.Capacity);
            values = Buffer(value, room.Capacity);
            if (p > 0)
            {
                keys.Narrow(2, 0, p).Copy_(past!.Key);
                values.Narrow(2, 0, p).Copy_(past.Value);
            }
        }
        keys.Narrow(2, p, t).Copy_(key);
        values.Narrow(2, p, t).Copy_(value);
        room.Written = length;
        return new KeyValue(keys.Narrow(2, 0, length).MoveToOuterScope(), values.Narrow(2, 0, length).MoveToOuterScope()) { _room = room };

        static Tensor Buffer(Tensor like, long capacity) => Tensor.Empty([like.Size(0), like.Size(1), capacity, like.Size(3)], like.DType, like.Device);
        // The buffer a view made here starts at: same strides, storage offset 0, all the capacity.
        static Tensor Whole(Tensor view, long capacity) => view.AsStrided([view.Size(0), view.Size(1), capacity, view.Size(3)], view.Strides);
    }
}

/// <summary>
/// GPT-2's causal multi-head self-attention: one projection to queries, keys and values (<c>c_attn</c>), scaled
/// dot-product attention, an output projection (<c>c_proj</c>) and residual dropout. Parameter names are Hugging Face's,
/// with the weights in <see cref="Linear"/>'s (out, in) layout (GPT-2's Conv1D stores them transposed).
/// </summary>
public sealed class CausalSelfAttention : Module
{
    private readonly Linear _qkv, _out;

    /// <summary>Model width and head count; the width must divide evenly.</summary>
    public CausalSelfAttention(long width, int heads, double attentionDropout = 0, double residualDropout = 0)
    {
        if (heads < 1 || width % heads != 0) throw new ArgumentException($"width {width} does not split into {heads} heads", nameof(heads));
        (Width, Heads, AttentionDropout, ResidualDropout) = (width, heads, attentionDropout, residualDropout);
        _qkv = RegisterModule("c_attn", new Linear(width, 3 * width));
        _out = RegisterModule("c_proj", new Linear(width, width));
    }

    /// <summary>Model width.</summary>
    public long Width { get; }

    /// <summary>Heads.</summary>
    public int Heads { get; }

    /// <summary>Dropout on the attention weights.</summary>
    public double AttentionDropout { get; }

    /// <summary>Dropout on the output.</summary>
    public double ResidualDropout { get; }

    /// <summary>Where libtorch has the fused attention operator, its dropout draws from the global generator.</summary>
    public override bool DrawsFromGlobalGenerator => Attention.DrawsFromGlobalGenerator(AttentionDropout) || base.DrawsFromGlobalGenerator;

    /// <summary>
    /// Attends over <paramref name="x"/> (B, T, C) after the cached positions <paramref name="past"/>; returns the output
    /// (B, T, C) and the keys and values of every position so far (past + T) for the next call. <paramref name="keep"/>
    /// is a (B, past + T) bool mask of real (not padding) positions.
    /// </summary>
    public (Tensor Output, KeyValue Present) Forward(Tensor x, KeyValue? past = null, Tensor? keep = null)
    {
        long b = x.Size(0), t = x.Size(1), c = Width, d = c / Heads;
        using var scope = DisposeScope.Begin();
        Tensor[] qkv = _qkv.Forward(x).Split(c, 2);                                            // 3 × (B, T, C)
        Tensor Heads_(Tensor z) => z.View(b, t, Heads, d).Transpose(1, 2);                    // (B, H, T, D)
        Tensor q = Heads_(qkv[0]), k = Heads_(qkv[1]), v = Heads_(qkv[2]);
        KeyValue present = KeyValue.Append(past, k, v);
        Tensor? mask = keep?.View(b, 1, 1, keep.Size(1));                                     // (B, 1, 1, Tk)
        Tensor y = Attention.ScaledDotProduct(q, present.Key, present.Value, mask, causal: true, AttentionDropout, Training);
        y = _out.Forward(y.Transpose(1, 2).Reshape(b, t, c));                                 // (B, T, C)
        y = Dropout.Functional(y, ResidualDropout, Training);
        present.Key.MoveToOuterScope();
        present.Value.MoveToOuterScope();
        return (y.MoveToOuterScope(), present);
    }
}

/// <summary>
/// A pre-LayerNorm transformer block as in GPT-2: x + attn(ln_1(x)), then + mlp(ln_2(·)), the MLP widening 4× with GELU
/// (GPT-2's tanh form by default). Parameter names are Hugging Face's (ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc,
/// mlp.c_proj).
/// </summary>
public sealed class TransformerBlock : Module
{
    private readonly LayerNorm _ln1, _ln2;
    private readonly CausalSelfAttention _attention;
    private readonly Linear _fc, _proj;

    /// <summary>A block of <paramref name="width"/> channels and <paramref name="heads"/> heads; the MLP is
    /// <paramref name="inner"/> wide (4 × width when not given, as GPT-2's n_inner).</summary>
    public TransformerBlock(long width, int heads, double layerNormEps = 1e-5, bool tanhGelu = true, double attentionDropout = 0, double residualDropout = 0,
                            long? inner = null)
    {
        (TanhGelu, ResidualDropout) = (tanhGelu, residualDropout);
        _ln1 = RegisterModule("ln_1", new LayerNorm([width], layerNormEps));
        _attention = RegisterModule("attn", new CausalSelfAttention(width, heads, attentionDropout, residualDropout));
        _ln2 = RegisterModule("ln_2", new LayerNorm([width], layerNormEps));
        _fc = new Linear(width, inner ?? 4 * width);
        _proj = new Linear(inner ?? 4 * width, width);
        RegisterModule("mlp", new MlpNames(_fc, _proj));
    }

    /// <summary>Whether the MLP uses GELU's tanh approximation (GPT-2's "gelu_new") rather than the exact erf form.</summary>
    public bool TanhGelu { get; }

    /// <summary>Dropout on the MLP's output.</summary>
    public double ResidualDropout { get; }

    /// <summary>The block on (B, T, C) after <paramref name="past"/>; see <see cref="CausalSelfAttention.Forward"/>.</summary>
    public (Tensor Output, KeyValue Present) Forward(Tensor x, KeyValue? past = null, Tensor? keep = null)
    {
        using var scope = DisposeScope.Begin();
        (Tensor a, KeyValue present) = _attention.Forward(_ln1.Forward(x), past, keep);
        Tensor h = x.Add(a);
        Tensor m = _proj.Forward(_fc.Forward(_ln2.Forward(h)).Gelu(TanhGelu ? "tanh" : "none"));
        h = h.Add(Dropout.Functional(m, ResidualDropout, Training));
        present.Key.MoveToOuterScope();
        present.Value.MoveToOuterScope();
        return (h.MoveToOuterScope(), present);
    }

    /// <summary>Holds the MLP's two layers under GPT-2's names (mlp.c_fc, mlp.c_proj).</summary>
    private sealed class MlpNames : Module
    {
        public MlpNames(Linear fc, Linear proj)
        {
            RegisterModule("c_fc", fc);
            RegisterModule("c_proj", proj);
        }
    }
}
