using Slovo.Torch.Native;

namespace Slovo.Torch;

// Elementwise arithmetic, comparisons and activations. Each wraps one aten operator, looked up once.
public sealed partial class Tensor
{
    private static readonly Op s_add = new("add", "Tensor"), s_addS = new("add", "Scalar");
    private static readonly Op s_sub = new("sub", "Tensor"), s_subS = new("sub", "Scalar");
    private static readonly Op s_mul = new("mul", "Tensor"), s_mulS = new("mul", "Scalar");
    private static readonly Op s_div = new("div", "Tensor"), s_divS = new("div", "Scalar");
    private static readonly Op s_divMode = new("div", "Tensor_mode");
    private static readonly Op s_neg = new("neg"), s_abs = new("abs"), s_sign = new("sign");
    private static readonly Op s_powT = new("pow", "Tensor_Tensor"), s_powS = new("pow", "Tensor_Scalar");
    private static readonly Op s_exp = new("exp"), s_log = new("log"), s_log1p = new("log1p");
    private static readonly Op s_sqrt = new("sqrt"), s_rsqrt = new("rsqrt"), s_square = new("square");
    private static readonly Op s_reciprocal = new("reciprocal"), s_sin = new("sin"), s_cos = new("cos");
    private static readonly Op s_floor = new("floor"), s_ceil = new("ceil"), s_round = new("round");
    private static readonly Op s_tanh = new("tanh"), s_sigmoid = new("sigmoid"), s_relu = new("relu");
    private static readonly Op s_gelu = new("gelu"), s_silu = new("silu"), s_erf = new("erf");
    private static readonly Op s_leakyRelu = new("leaky_relu"), s_softplus = new("softplus"), s_elu = new("elu");
    private static readonly Op s_softmax = new("softmax", "int"), s_logSoftmax = new("log_softmax", "int");
    private static readonly Op s_clamp = new("clamp"), s_maximum = new("maximum"), s_minimum = new("minimum");
    private static readonly Op s_eq = new("eq", "Tensor"), s_eqS = new("eq", "Scalar");
    private static readonly Op s_ne = new("ne", "Tensor"), s_neS = new("ne", "Scalar");
    private static readonly Op s_lt = new("lt", "Tensor"), s_ltS = new("lt", "Scalar");
    private static readonly Op s_le = new("le", "Tensor"), s_leS = new("le", "Scalar");
    private static readonly Op s_gt = new("gt", "Tensor"), s_gtS = new("gt", "Scalar");
    private static readonly Op s_ge = new("ge", "Tensor"), s_geS = new("ge", "Scalar");
    private static readonly Op s_logicalNot = new("logical_not"), s_logicalAnd = new("logical_and");
    private static readonly Op s_logicalOr = new("logical_or");
    private static readonly Op s_isnan = new("isnan"), s_isfinite = new("isfinite");
    private static readonly Op s_where = new("where", "self"), s_whereS = new("where", "ScalarOther");
    private static readonly Op s_maskedFill = new("masked_fill", "Scalar");
    private static readonly Op s_equal = new("equal"), s_allclose = new("allclose");

    /// <summary>this + alpha·other (broadcasting).</summary>
    public Tensor Add(Tensor other, double alpha = 1) =>
        alpha == 1 ? s_add.CallTTS(this, other, 1, true) : s_add.CallTTS(this, other, alpha, alpha == Math.Floor(alpha));

    /// <summary>this + value.</summary>
    public Tensor Add(double value) => s_addS.Call(this, NativeArg.Scalar(value));

    /// <summary>this − alpha·other.</summary>
    public Tensor Sub(Tensor other, double alpha = 1) => s_sub.CallTTS(this, other, alpha, alpha == Math.Floor(alpha));

    /// <summary>this − value.</summary>
    public Tensor Sub(double value) => s_subS.Call(this, NativeArg.Scalar(value));

    /// <summary>Elementwise product.</summary>
    public Tensor Mul(Tensor other) => s_mul.CallTT(this, other);

    /// <summary>this · value.</summary>
    public Tensor Mul(double value) => s_mulS.Call(this, NativeArg.Scalar(value));

    /// <summary>Elementwise true division.</summary>
    public Tensor Div(Tensor other) => s_div.CallTT(this, other);

    /// <summary>Elementwise division with rounding "trunc" or "floor".</summary>
    public Tensor Div(Tensor other, string roundingMode) => s_divMode.Call(this, other, NativeArg.Of(roundingMode));

    /// <summary>this / value.</summary>
    public Tensor Div(double value) => s_divS.Call(this, NativeArg.Scalar(value));

    /// <summary>−this.</summary>
    public Tensor Neg() => s_neg.CallT(this);

    /// <summary>|this|.</summary>
    public Tensor Abs() => s_abs.CallT(this);

    /// <summary>Sign (−1, 0, 1).</summary>
    public Tensor Sign() => s_sign.CallT(this);

    /// <summary>this ^ exponent.</summary>
    public Tensor Pow(double exponent) => s_powS.Call(this, NativeArg.Scalar(exponent));

    /// <summary>this ^ exponent (elementwise).</summary>
    public Tensor Pow(Tensor exponent) => s_powT.CallTT(this, exponent);

    /// <summary>e^x.</summary>
    public Tensor Exp() => s_exp.CallT(this);

    /// <summary>Natural logarithm.</summary>
    public Tensor Log() => s_log.CallT(this);

    /// <summary>log(1 + x).</summary>
    public Tensor Log1p() => s_log1p.CallT(this);

    /// <summary>Square root.</summary>
    public Tensor Sqrt() => s_sqrt.CallT(this);

    /// <summary>1 / sqrt(x).</summary>
    public Tensor Rsqrt() => s_rsqrt.CallT(this);

    /// <summary>x².</summary>
    public Tensor Square() => s_square.CallT(this);

    /// <summary>1 / x.</summary>
    public Tensor Reciprocal() => s_reciprocal.CallT(this);

    /// <summary>Sine.</summary>
    public Tensor Sin() => s_sin.CallT(this);

    /// <summary>Cosine.</summary>
    public Tensor Cos() => s_cos.CallT(this);

    /// <summary>Round down.</summary>
    public Tensor Floor() => s_floor.CallT(this);

    /// <summary>Round up.</summary>
    public Tensor Ceil() => s_ceil.CallT(this);

    /// <summary>Round half to even.</summary>
    public Tensor Round() => s_round.CallT(this);

    /// <summary>Hyperbolic tangent.</summary>
    public Tensor Tanh() => s_tanh.CallT(this);

    /// <summary>Logistic sigmoid.</summary>
    public Tensor Sigmoid() => s_sigmoid.CallT(this);

    /// <summary>max(x, 0).</summary>
    public Tensor Relu() => s_relu.CallT(this);

    /// <summary>GELU ("none" or "tanh" approximation).</summary>
    public Tensor Gelu(string approximate = "none") => s_gelu.Call(this, NativeArg.Of(approximate));

    /// <summary>x·sigmoid(x).</summary>
    public Tensor Silu() => s_silu.CallT(this);

    /// <summary>Error function.</summary>
    public Tensor Erf() => s_erf.CallT(this);

    /// <summary>Leaky ReLU.</summary>
    public Tensor LeakyRelu(double negativeSlope = 0.01) => s_leakyRelu.Call(this, NativeArg.FloatScalar(negativeSlope));

    /// <summary>Softplus.</summary>
    public Tensor Softplus(double beta = 1, double threshold = 20) =>
        s_softplus.Call(this, NativeArg.Scalar(beta), NativeArg.Scalar(threshold));

    /// <summary>ELU.</summary>
    public Tensor Elu(double alpha = 1) => s_elu.Call(this, NativeArg.Scalar(alpha));

    /// <summary>Softmax along <paramref name="dim"/>.</summary>
    public Tensor Softmax(long dim, ScalarType? dtype = null) => s_softmax.Call(this, dim, NativeArg.Of(dtype));

    /// <summary>Log-softmax along <paramref name="dim"/>.</summary>
    public Tensor LogSoftmax(long dim, ScalarType? dtype = null) => s_logSoftmax.Call(this, dim, NativeArg.Of(dtype));

    /// <summary>Clamps into [min, max]; either bound may be null.</summary>
    public Tensor Clamp(double? min = null, double? max = null) =>
        s_clamp.Call(this, min is null ? NativeArg.None : NativeArg.Scalar(min.Value), max is null ? NativeArg.None : NativeArg.Scalar(max.Value));

    /// <summary>Elementwise maximum.</summary>
    public Tensor Maximum(Tensor other) => s_maximum.CallTT(this, other);

    /// <summary>Elementwise minimum.</summary>
    public Tensor Minimum(Tensor other) => s_minimum.CallTT(this, other);

    /// <summary>Elementwise ==.</summary>
    public Tensor Eq(Tensor other) => s_eq.CallTT(this, other);

    /// <summary>Elementwise == value.</summary>
    public Tensor Eq(double value) => s_eqS.Call(this, NativeArg.Scalar(value));

    /// <summary>Elementwise !=.</summary>
    public Tensor Ne(Tensor other) => s_ne.CallTT(this, other);

    /// <summary>Elementwise != value.</summary>
    public Tensor Ne(double value) => s_neS.Call(this, NativeArg.Scalar(value));

    /// <summary>Elementwise &lt;.</summary>
    public Tensor Lt(Tensor other) => s_lt.CallTT(this, other);

    /// <summary>Elementwise &lt; value.</summary>
    public Tensor Lt(double value) => s_ltS.Call(this, NativeArg.Scalar(value));

    /// <summary>Elementwise &lt;=.</summary>
    public Tensor Le(Tensor other) => s_le.CallTT(this, other);

    /// <summary>Elementwise &lt;= value.</summary>
    public Tensor Le(double value) => s_leS.Call(this, NativeArg.Scalar(value));

    /// <summary>Elementwise &gt;.</summary>
    public Tensor Gt(Tensor other) => s_gt.CallTT(this, other);

    /// <summary>Elementwise &gt; value.</summary>
    public Tensor Gt(double value) => s_gtS.Call(this, NativeArg.Scalar(value));

    /// <summary>Elementwise &gt;=.</summary>
    public Tensor Ge(Tensor other) => s_ge.CallTT(this, other);

    /// <summary>Elementwise &gt;= value.</summary>
    public Tensor Ge(double value) => s_geS.Call(this, NativeArg.Scalar(value));

    /// <summary>Logical not.</summary>
    public Tensor LogicalNot() => s_logicalNot.CallT(this);

    /// <summary>Logical and.</summary>
    public Tensor LogicalAnd(Tensor other) => s_logicalAnd.CallTT(this, other);

    /// <summary>Logical or.</summary>
    public Tensor LogicalOr(Tensor other) => s_logicalOr.CallTT(this, other);

    /// <summary>Which elements are NaN.</summary>
    public Tensor IsNaN() => s_isnan.CallT(this);

    /// <summary>Which elements are finite.</summary>
    public Tensor IsFinite() => s_isfinite.CallT(this);

    /// <summary>Elements of <paramref name="ifTrue"/> where <paramref name="condition"/> holds, else of <paramref name="ifFalse"/>.</summary>
    public static Tensor Where(Tensor condition, Tensor ifTrue, Tensor ifFalse) => s_where.Call(condition, ifTrue, ifFalse);

    /// <summary>Elements of <paramref name="ifTrue"/> where <paramref name="condition"/> holds, else <paramref name="ifFalse"/>.</summary>
    public static Tensor Where(Tensor condition, Tensor ifTrue, double ifFalse) =>
        s_whereS.Call(condition, ifTrue, NativeArg.Scalar(ifFalse));

    /// <summary>A copy with <paramref name="value"/> where <paramref name="mask"/> is true.</summary>
    public Tensor MaskedFill(Tensor mask, double value) => s_maskedFill.Call(this, mask, NativeArg.FloatScalar(value));

    /// <summary>Whether both tensors have the same shape and elements.</summary>
    public bool Equal(Tensor other) => s_equal.CallScalar(this, other) != 0;

    /// <summary>Whether |this − other| ≤ atol + rtol·|other| everywhere.</summary>
    public bool AllClose(Tensor other, double rtol = 1e-5, double atol = 1e-8, bool equalNan = false) =>
        s_allclose.CallScalar(this, other, rtol, atol, equalNan) != 0;

    /// <summary>Sum.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);

    /// <summary>Sum with a number.</summary>
    public static Tensor operator +(Tensor a, double b) => a.Add(b);

    /// <summary>Sum with a number.</summary>
    public static Tensor operator +(double a, Tensor b) => b.Add(a);

    /// <summary>Difference.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);

    /// <summary>Difference with a number.</summary>
    public static Tensor operator -(Tensor a, double b) => a.Sub(b);

    /// <summary>Number minus tensor.</summary>
    public static Tensor operator -(double a, Tensor b)
    {
        using Tensor n = b.Neg();
        return n.Add(a);
    }

    /// <summary>Negation.</summary>
    public static Tensor operator -(Tensor a) => a.Neg();

    /// <summary>Elementwise product.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);

    /// <summary>Product with a number.</summary>
    public static Tensor operator *(Tensor a, double b) => a.Mul(b);

    /// <summary>Product with a number.</summary>
    public static Tensor operator *(double a, Tensor b) => b.Mul(a);

    /// <summary>Elementwise quotient.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);

    /// <summary>Quotient by a number.</summary>
    public static Tensor operator /(Tensor a, double b) => a.Div(b);

    /// <summary>Number over tensor.</summary>
    public static Tensor operator /(double a, Tensor b)
    {
        using Tensor r = b.Reciprocal();
        return r.Mul(a);
    }
}
