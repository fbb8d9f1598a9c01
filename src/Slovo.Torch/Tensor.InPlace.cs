using Slovo.Torch.Native;

namespace Slovo.Torch;

// In-place operations (names end in '_', as in PyTorch); each returns this tensor.
public sealed partial class Tensor
{
    private static readonly Op s_add_ = new("add_", "Tensor"), s_addS_ = new("add_", "Scalar");
    private static readonly Op s_sub_ = new("sub_", "Tensor");
    private static readonly Op s_mul_ = new("mul_", "Tensor"), s_mulS_ = new("mul_", "Scalar");
    private static readonly Op s_div_ = new("div_", "Tensor"), s_divS_ = new("div_", "Scalar");
    private static readonly Op s_addcmul_ = new("addcmul_"), s_addcdiv_ = new("addcdiv_");
    private static readonly Op s_lerp_ = new("lerp_", "Scalar"), s_sqrt_ = new("sqrt_");
    private static readonly Op s_copy_ = new("copy_"), s_fill_ = new("fill_", "Scalar"), s_zero_ = new("zero_");
    private static readonly Op s_clamp_ = new("clamp_"), s_maskedFill_ = new("masked_fill_", "Scalar");
    private static readonly Op s_uniform_ = new("uniform_"), s_normal_ = new("normal_"), s_bernoulli_ = new("bernoulli_", "float");
    private static readonly Op s_exp_ = new("exp_");

    /// <summary>this += alpha·other.</summary>
    public Tensor Add_(Tensor other, double alpha = 1)
    {
        s_add_.CallVoid(this, other, NativeArg.Scalar(alpha));
        return this;
    }

    /// <summary>this += value.</summary>
    public Tensor Add_(double value)
    {
        s_addS_.CallVoid(this, NativeArg.Scalar(value));
        return this;
    }

    /// <summary>this −= alpha·other.</summary>
    public Tensor Sub_(Tensor other, double alpha = 1)
    {
        s_sub_.CallVoid(this, other, NativeArg.Scalar(alpha));
        return this;
    }

    /// <summary>this *= other.</summary>
    public Tensor Mul_(Tensor other)
    {
        s_mul_.CallVoid(this, other);
        return this;
    }

    /// <summary>this *= value.</summary>
    public Tensor Mul_(double value)
    {
        s_mulS_.CallVoid(this, NativeArg.Scalar(value));
        return this;
    }

    /// <summary>this /= other.</summary>
    public Tensor Div_(Tensor other)
    {
        s_div_.CallVoid(this, other);
        return this;
    }

    /// <summary>this /= value.</summary>
    public Tensor Div_(double value)
    {
        s_divS_.CallVoid(this, NativeArg.Scalar(value));
        return this;
    }

    /// <summary>this += value·t1·t2.</summary>
    public Tensor AddCMul_(Tensor t1, Tensor t2, double value = 1)
    {
        s_addcmul_.CallVoid(this, t1, t2, NativeArg.Scalar(value));
        return this;
    }

    /// <summary>this += value·t1/t2.</summary>
    public Tensor AddCDiv_(Tensor t1, Tensor t2, double value = 1)
    {
        s_addcdiv_.CallVoid(this, t1, t2, NativeArg.Scalar(value));
        return this;
    }

    /// <summary>this += weight·(end − this).</summary>
    public Tensor Lerp_(Tensor end, double weight)
    {
        s_lerp_.CallVoid(this, end, NativeArg.FloatScalar(weight));
        return this;
    }

    /// <summary>this = sqrt(this).</summary>
    public Tensor Sqrt_()
    {
        s_sqrt_.CallVoid(this);
        return this;
    }

    /// <summary>this = exp(this).</summary>
    public Tensor Exp_()
    {
        s_exp_.CallVoid(this);
        return this;
    }

    /// <summary>Copies <paramref name="source"/>'s values (broadcast, converted) into this tensor.</summary>
    public Tensor Copy_(Tensor source)
    {
        s_copy_.CallVoid(this, source);
        return this;
    }

    /// <summary>Sets every element to <paramref name="value"/>.</summary>
    public Tensor Fill_(double value)
    {
        s_fill_.CallVoid(this, NativeArg.Scalar(value));
        return this;
    }

    /// <summary>Sets every element to zero.</summary>
    public Tensor Zero_()
    {
        s_zero_.CallVoid(this);
        return this;
    }

    /// <summary>Clamps in place.</summary>
    public Tensor Clamp_(double? min = null, double? max = null)
    {
        s_clamp_.CallVoid(this, min is null ? NativeArg.None : NativeArg.FloatScalar(min.Value),
            max is null ? NativeArg.None : NativeArg.FloatScalar(max.Value));
        return this;
    }

    /// <summary>Writes <paramref name="value"/> where <paramref name="mask"/> is true.</summary>
    public Tensor MaskedFill_(Tensor mask, double value)
    {
        s_maskedFill_.CallVoid(this, mask, NativeArg.FloatScalar(value));
        return this;
    }

    /// <summary>Fills with uniform random values in [from, to).</summary>
    public Tensor Uniform_(double from = 0, double to = 1, RandomGenerator? generator = null)
    {
        s_uniform_.CallVoid(this, from, to, NativeArg.Of(generator ?? RandomGenerator.For(Device)));
        return this;
    }

    /// <summary>Fills with normal random values.</summary>
    public Tensor Normal_(double mean = 0, double std = 1, RandomGenerator? generator = null)
    {
        s_normal_.CallVoid(this, mean, std, NativeArg.Of(generator ?? RandomGenerator.For(Device)));
        return this;
    }

    /// <summary>Fills with 1 with probability <paramref name="p"/>, else 0.</summary>
    public Tensor Bernoulli_(double p = 0.5, RandomGenerator? generator = null)
    {
        s_bernoulli_.CallVoid(this, p, NativeArg.Of(generator ?? RandomGenerator.For(Device)));
        return this;
    }
}
