using Slovo.Torch.Native;

namespace Slovo.Torch.NN;

/// <summary>Standard weight initialisers (in place, without autograd), following torch.nn.init.</summary>
public static class Init
{
    private static readonly Op s_qr = new("linalg_qr");

    /// <summary>Fills with U(from, to).</summary>
    public static Tensor Uniform_(Tensor t, double from = 0, double to = 1)
    {
        using var g = LibTorch.NoGrad();
        return t.Uniform_(from, to);
    }

    /// <summary>Fills with N(mean, std²).</summary>
    public static Tensor Normal_(Tensor t, double mean = 0, double std = 1)
    {
        using var g = LibTorch.NoGrad();
        return t.Normal_(mean, std);
    }

    /// <summary>Fills with a constant.</summary>
    public static Tensor Constant_(Tensor t, double value)
    {
        using var g = LibTorch.NoGrad();
        return t.Fill_(value);
    }

    /// <summary>Fills with zeros.</summary>
    public static Tensor Zeros_(Tensor t) => Constant_(t, 0);

    /// <summary>Fills with ones.</summary>
    public static Tensor Ones_(Tensor t) => Constant_(t, 1);

    /// <summary>(fan_in, fan_out) as torch.nn.init computes them: dims 1 and 0 times the receptive field.</summary>
    public static (long FanIn, long FanOut) Fans(Tensor t)
    {
        long[] s = t.Shape;
        if (s.Length < 2) throw new ArgumentException($"fan in/out need at least 2 dimensions, tensor has {s.Length}", nameof(t));
        long receptive = 1;
        for (int k = 2; k < s.Length; ++k) receptive *= s[k];
        return (s[1] * receptive, s[0] * receptive);
    }

    /// <summary>The recommended gain for a nonlinearity ("linear", "tanh", "relu", "leaky_relu", "sigmoid").</summary>
    public static double Gain(string nonlinearity, double param = 0.01) => nonlinearity switch
    {
        "linear" or "conv1d" or "sigmoid" => 1.0,
        "tanh" => 5.0 / 3,
        "relu" => Math.Sqrt(2.0),
        "leaky_relu" => Math.Sqrt(2.0 / (1 + param * param)),
        "selu" => 3.0 / 4,
        _ => throw new ArgumentException($"unknown nonlinearity '{nonlinearity}'", nameof(nonlinearity)),
    };

    /// <summary>Glorot uniform.</summary>
    public static Tensor XavierUniform_(Tensor t, double gain = 1)
    {
        (long fi, long fo) = Fans(t);
        double a = gain * Math.Sqrt(6.0 / (fi + fo));
        return Uniform_(t, -a, a);
    }

    /// <summary>Glorot normal.</summary>
    public static Tensor XavierNormal_(Tensor t, double gain = 1)
    {
        (long fi, long fo) = Fans(t);
        return Normal_(t, 0, gain * Math.Sqrt(2.0 / (fi + fo)));
    }

    /// <summary>He uniform (fan-in mode by default).</summary>
    public static Tensor KaimingUniform_(Tensor t, double a = 0, bool fanIn = true, string nonlinearity = "leaky_relu")
    {
        (long fi, long fo) = Fans(t);
        double std = Gain(nonlinearity, a) / Math.Sqrt(fanIn ? fi : fo);
        double bound = Math.Sqrt(3.0) * std;
        return Uniform_(t, -bound, bound);
    }

    /// <summary>He normal (fan-in mode by default).</summary>
    public static Tensor KaimingNormal_(Tensor t, double a = 0, bool fanIn = true, string nonlinearity = "leaky_relu")
    {
        (long fi, long fo) = Fans(t);
        return Normal_(t, 0, Gain(nonlinearity, a) / Math.Sqrt(fanIn ? fi : fo));
    }

    /// <summary>A (semi-)orthogonal matrix, flattened over trailing dimensions.</summary>
    public static Tensor Orthogonal_(Tensor t, double gain = 1)
    {
        long[] s = t.Shape;
        if (s.Length < 2) throw new ArgumentException("orthogonal init needs at least 2 dimensions", nameof(t));
        long rows = s[0], cols = t.NumElements / rows;
        using var scope = DisposeScope.Begin();
        using var g = LibTorch.NoGrad();
        Tensor flat = Tensor.RandN([rows, cols], t.DType);
        if (rows < cols) flat = flat.T();
        Tensor?[] qr = s_qr.CallMany(flat);
        Tensor q = qr[0]!, r = qr[1]!;
        Tensor d = r.Diagonal().Sign();
        q = q * d;
        if (rows < cols) q = q.T();
        t.Copy_(q.Reshape(s) * gain);
        return t;
    }
}
