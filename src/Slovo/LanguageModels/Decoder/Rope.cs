using Slovo.Torch;

namespace Slovo.LanguageModels;

// Shapes: B rows, T positions, R rotating channels of a head.

/// <summary>
/// Rotary position embeddings in Hugging Face's rotate-half layout: channel i of the rotating part pairs with channel
/// i + R/2. The inverse frequencies follow the config's θ and <see cref="RopeScaling"/>; GGUF's llama layout (pairs of
/// neighbouring channels) is converted on import and export, never here.
/// </summary>
internal sealed class Rope
{
    private readonly double[] _inverse;
    private readonly double _theta, _scale;
    private readonly int _dim;
    private readonly RopeScaling? _scaling;
    private readonly int _trained;

    public Rope(int rotaryDim, double theta, RopeScaling? scaling, int maxPositions)
    {
        (_dim, _theta, _scaling, _trained) = (rotaryDim, theta, scaling, scaling?.OriginalMaxPositions ?? maxPositions);
        _inverse = Frequencies(theta);
        _scale = 1;
        if (scaling is null) return;
        switch (scaling.Type)
        {
            case "linear":
                for (int i = 0; i < _inverse.Length; ++i) _inverse[i] /= scaling.Factor;
                break;
            case "llama3":
            {
                double lowWavelength = _trained / scaling.LowFreqFactor, highWavelength = _trained / scaling.HighFreqFactor;
                for (int i = 0; i < _inverse.Length; ++i)
                {
                    double wavelength = 2 * Math.PI / _inverse[i];
                    if (wavelength > lowWavelength) _inverse[i] /= scaling.Factor;
                    else if (wavelength >= highWavelength)
                    {
                        double smooth = (_trained / wavelength - scaling.LowFreqFactor) / (scaling.HighFreqFactor - scaling.LowFreqFactor);
                        _inverse[i] = (1 - smooth) * _inverse[i] / scaling.Factor + smooth * _inverse[i];
                    }
                }
                break;
            }
            case "longrope":
                _short = Divided(scaling.ShortFactor!);
                _long = Divided(scaling.LongFactor!);
                _inverse = _short;
                _scale = scaling.AttentionFactor ?? (scaling.Factor <= 1 ? 1 : Math.Sqrt(1 + Math.Log(scaling.Factor) / Math.Log(_trained)));
                break;
            case "yarn":
            {
                double Correction(double rotations) => _dim * Math.Log(_trained / (rotations * 2 * Math.PI)) / (2 * Math.Log(theta));
                double low = Math.Max(Math.Floor(Correction(scaling.BetaFast)), 0), high = Math.Min(Math.Ceiling(Correction(scaling.BetaSlow)), _dim - 1);
                if (low == high) high += 0.001;
                for (int i = 0; i < _inverse.Length; ++i)
                {
                    double ramp = Math.Clamp((i - low) / (high - low), 0, 1), extrapolation = 1 - ramp;
                    _inverse[i] = _inverse[i] / scaling.Factor * (1 - extrapolation) + _inverse[i] * extrapolation;
                }
                _scale = scaling.AttentionFactor ?? (scaling.Factor <= 1 ? 1 : 0.1 * Math.Log(scaling.Factor) + 1);
                break;
            }
        }
    }

    /// <summary>Channels that rotate.</summary>
    public int Dim => _dim;

    /// <summary>The scale of cos and sin (yarn's and longrope's attention factor; 1 otherwise).</summary>
    public double AttentionScale => _scale;

    /// <summary>
    /// What each base frequency is divided by under this scaling (θ^(−2i/R) / the scaled frequency): llama.cpp's rope_freqs
    /// tensor for Llama 3's scaling. Not defined for dynamic scaling, which depends on the positions read.
    /// </summary>
    public double[] Divisors()
    {
        double[] unscaled = Frequencies(_theta);
        return unscaled.Select((f, i) => f / _inverse[i]).ToArray();
    }

    // longrope's two sets of frequencies: the base ones divided by the short or the long factors.
    private readonly double[]? _short, _long;

    private double[] Divided(IReadOnlyList<double> factors)
    {
        double[] f = Frequencies(_theta);
        for (int i = 0; i < f.Length; ++i) f[i] /= factors[i];
        return f;
    }

    private double[] Frequencies(double theta)
    {
        var inverse = new double[_dim / 2];
        for (int i = 0; i < inverse.Length; ++i) inverse[i] = 1 / Math.Pow(theta, 2.0 * i / _dim);
        return inverse;
    }

    /// <summary>cos and sin, (B or 1, T, R) each in <paramref name="dtype"/>, for the position ids <paramref name="positions"/> (T) or (B, T).</summary>
    public (Tensor Cos, Tensor Sin) Table(Tensor positions, ScalarType dtype)
    {
        using var scope = DisposeScope.Begin();
        Tensor p = positions.Dim == 1 ? positions.Unsqueeze(0) : positions;                                      // (B, T)
        Tensor inv;                                                                                                // (B or 1, 1, R/2)
        if (_scaling?.Type is "dynamic" or "longrope")
        {
            // Frequencies that follow the positions each row has reached (rows of a batch reach different lengths): dynamic
            // NTK grows θ, longrope switches to its long factors, once a row passes the trained context.
            long[] seen = p.Max(1).Values.ToArray<long>();
            double[] Past(long s) => _scaling.Type == "longrope" ? _long!
                : Frequencies(_theta * Math.Pow(_scaling.Factor * (s + 1) / _trained - (_scaling.Factor - 1), _dim / (_dim - 2.0)));
            float[] all = seen.SelectMany(s => (s + 1 > _trained ? Past(s) : _inverse).Select(f => (float)f)).ToArray();
            inv = Tensor.From(all, seen.Length, 1, _inverse.Length).To(positions.Device);
        }
        else inv = Tensor.From(_inverse.Select(f => (float)f).ToArray()).To(positions.Device);
        Tensor freqs = p.To(ScalarType.Float32).Unsqueeze(-1).Mul(inv);                                            // (B, T, R/2)
        Tensor emb = Tensor.Cat([freqs, freqs], -1);                                                               // (B, T, R)
        Tensor cos = emb.Cos(), sin = emb.Sin();
        if (_scale != 1) { cos = cos.Mul(_scale); sin = sin.Mul(_scale); }
        return (cos.To(dtype).MoveToOuterScope(), sin.To(dtype).MoveToOuterScope());
    }

    /// <summary>Rotates the first R channels of <paramref name="x"/> (B, H, T, D) by the table (B or 1, T, R).</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = DisposeScope.Begin();
        long r = cos.Size(-1), d = x.Size(-1);
        Tensor c = cos.Unsqueeze(1), s = sin.Unsqueeze(1);                                                          // (B, 1, T, R)
        Tensor rot = r == d ? x : x.Narrow(-1, 0, r);
        Tensor[] halves = rot.Chunk(2, -1);
        Tensor rotated = rot.Mul(c).Add(Tensor.Cat([halves[1].Neg(), halves[0]], -1).Mul(s));
        Tensor result = r == d ? rotated : Tensor.Cat([rotated, x.Narrow(-1, r, d - r)], -1);
        return result.MoveToOuterScope();
    }
}
