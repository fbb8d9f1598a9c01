using System.Globalization;

namespace Slovo.Torch.Optim;

/// <summary>
/// Updates parameters from their gradients. State (moment buffers, step counts) can be saved and restored,
/// so a resumed run continues exactly where it stopped.
/// </summary>
public abstract class Optimizer : IDisposable
{
    private readonly Dictionary<string, Tensor> _state = new(StringComparer.Ordinal);

    /// <summary>The parameters, in a fixed order that names their state ("0.exp_avg", ...).</summary>
    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>The learning rate (schedulers change it).</summary>
    public double LearningRate { get; set; }

    /// <summary>The learning rate given at construction (schedulers scale from it).</summary>
    public double InitialLearningRate { get; }

    /// <summary>Steps taken.</summary>
    public long StepCount { get; protected set; }

    /// <summary>Creates the optimizer over <paramref name="parameters"/>.</summary>
    protected Optimizer(IEnumerable<Tensor> parameters, double lr)
    {
        if (lr < 0 || double.IsNaN(lr)) throw new ArgumentOutOfRangeException(nameof(lr), lr, "learning rate must be non-negative");
        Parameters = parameters.ToList();
        if (Parameters.Count == 0) throw new ArgumentException("the optimizer got no parameters", nameof(parameters));
        LearningRate = InitialLearningRate = lr;
    }

    /// <summary>Applies one update from the current gradients (parameters without a gradient are skipped).</summary>
    public void Step()
    {
        using var scope = DisposeScope.Begin();
        using var noGrad = LibTorch.NoGrad();
        ++StepCount;
        for (int i = 0; i < Parameters.Count; ++i)
        {
            Tensor? grad = Parameters[i].Grad;
            if (grad is null) continue;
            Update(i, Parameters[i], grad);
        }
    }

    /// <summary>Updates parameter <paramref name="index"/> (called without autograd, inside a dispose scope).</summary>
    protected abstract void Update(int index, Tensor param, Tensor grad);

    /// <summary>The state tensor <paramref name="name"/> of parameter <paramref name="index"/>, created zero on first use.</summary>
    protected Tensor State(int index, string name, Tensor like)
    {
        string key = index.ToString(CultureInfo.InvariantCulture) + "." + name;
        if (!_state.TryGetValue(key, out Tensor? t))
        {
            t = like.Detach().Clone().Zero_().DetachFromScope();
            _state[key] = t;
        }
        return t;
    }

    /// <summary>Whether parameter <paramref name="index"/> already has state <paramref name="name"/>.</summary>
    protected bool HasState(int index, string name) =>
        _state.ContainsKey(index.ToString(CultureInfo.InvariantCulture) + "." + name);

    /// <summary>Drops (or zeroes) every parameter's gradient.</summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (Tensor p in Parameters) p.ZeroGrad(setToNone);
    }

    /// <summary>Hyper-parameters that must match when state is restored.</summary>
    protected abstract IEnumerable<(string Name, double Value)> HyperParameters();

    /// <summary>The state tensors ("0.exp_avg", ...) and metadata (kind, step, learning rate, hyper-parameters), for
    /// writing into a checkpoint together with the model. The tensors are the optimizer's own, not copies.</summary>
    public (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) StateDict()
    {
        var meta = new Dictionary<string, string>
        {
            ["optimizer"] = GetType().Name,
            ["step"] = StepCount.ToString(CultureInfo.InvariantCulture),
            ["lr"] = LearningRate.ToString("R", CultureInfo.InvariantCulture),
            ["num_params"] = Parameters.Count.ToString(CultureInfo.InvariantCulture),
        };
        foreach ((string n, double v) in HyperParameters()) meta["hp." + n] = v.ToString("R", CultureInfo.InvariantCulture);
        return (new Dictionary<string, Tensor>(_state), meta);
    }

    /// <summary>Restores state from <see cref="StateDict"/>'s output (copies the tensors), checking kind, count and shapes.</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> meta)
    {
        if (!meta.TryGetValue("optimizer", out string? kind) || kind != GetType().Name)
            throw new InvalidDataException($"the saved optimizer state is {kind ?? "missing"}, not {GetType().Name}");
        if (meta.GetValueOrDefault("num_params") != Parameters.Count.ToString(CultureInfo.InvariantCulture))
            throw new InvalidDataException($"the saved state is for {meta.GetValueOrDefault("num_params")} parameters, this optimizer has {Parameters.Count}");
        foreach ((string key, Tensor t) in tensors)
        {
            int dot = key.IndexOf('.');
            if (dot <= 0 || !int.TryParse(key[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out int index) || index >= Parameters.Count)
                throw new InvalidDataException($"the saved optimizer state has an unexpected entry '{key}'");
            long[] want = Parameters[index].Shape;
            if (!t.Shape.SequenceEqual(want))
                throw new InvalidDataException($"optimizer state '{key}' has shape [{string.Join(", ", t.Shape)}] but parameter {index} is [{string.Join(", ", want)}]");
        }
        foreach (Tensor old in _state.Values) old.Dispose();
        _state.Clear();
        using (LibTorch.NoGrad())
            foreach ((string key, Tensor t) in tensors)
            {
                int index = int.Parse(key[..key.IndexOf('.')], CultureInfo.InvariantCulture);
                _state[key] = t.To(Parameters[index].Device, copy: true).DetachFromScope();
            }
        StepCount = long.Parse(meta["step"], CultureInfo.InvariantCulture);
        LearningRate = double.Parse(meta["lr"], CultureInfo.InvariantCulture);
    }

    /// <summary>Releases the state tensors.</summary>
    public void Dispose()
    {
        foreach (Tensor t in _state.Values) t.Dispose();
        _state.Clear();
        GC.SuppressFinalize(this);
    }
}

/// <summary>Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay (PyTorch's formulas).</summary>
public sealed class SGD : Optimizer
{
    private readonly double _momentum, _dampening, _weightDecay;
    private readonly bool _nesterov;

    /// <summary>Creates the optimizer.</summary>
    public SGD(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false)
        : base(parameters, lr)
    {
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException("Nesterov momentum needs momentum > 0 and dampening = 0");
        (_momentum, _dampening, _weightDecay, _nesterov) = (momentum, dampening, weightDecay, nesterov);
    }

    /// <inheritdoc />
    protected override void Update(int index, Tensor param, Tensor grad)
    {
        Tensor d = _weightDecay != 0 ? grad.Add(param, _weightDecay) : grad;
        if (_momentum != 0)
        {
            bool first = !HasState(index, "momentum_buffer");
            Tensor buf = State(index, "momentum_buffer", param);
            if (first) buf.Copy_(d);
            else buf.Mul_(_momentum).Add_(d, 1 - _dampening);
            d = _nesterov ? d.Add(buf, _momentum) : buf;
        }
        param.Add_(d, -LearningRate);
    }

    /// <inheritdoc />
    protected override IEnumerable<(string, double)> HyperParameters() =>
        [("momentum", _momentum), ("dampening", _dampening), ("weight_decay", _weightDecay), ("nesterov", _nesterov ? 1 : 0)];
}

/// <summary>Adam; with <c>decoupled</c> weight decay it is AdamW (see <see cref="AdamW"/>).</summary>
public class Adam : Optimizer
{
    private readonly double _beta1, _beta2, _eps, _weightDecay;
    private readonly bool _decoupled;
    private readonly bool[] _decays;

    /// <summary>Creates Adam with L2 weight decay added to the gradient (PyTorch's Adam).</summary>
    public Adam(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0,
                IEnumerable<Tensor>? noWeightDecay = null)
        : this(parameters, lr, beta1, beta2, eps, weightDecay, decoupled: false, noWeightDecay)
    {
    }

    /// <summary>Creates the optimizer.</summary>
    protected Adam(IEnumerable<Tensor> parameters, double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled,
                   IEnumerable<Tensor>? noWeightDecay = null)
        : base(parameters, lr)
    {
        // Parameters exempt from weight decay (biases, LayerNorms, embeddings, as transformers are trained): PyTorch's
        // second parameter group with weight_decay 0.
        var exempt = new HashSet<Tensor>(noWeightDecay ?? [], ReferenceEqualityComparer.Instance);
        _decays = Parameters.Select(p => !exempt.Contains(p)).ToArray();
        if (beta1 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "must be in [0, 1)");
        if (beta2 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "must be in [0, 1)");
        (_beta1, _beta2, _eps, _weightDecay, _decoupled) = (beta1, beta2, eps, weightDecay, decoupled);
    }

    /// <inheritdoc />
    protected override void Update(int index, Tensor param, Tensor grad)
    {
        double lr = LearningRate;
        double decay = _decays[index] ? _weightDecay : 0;
        if (_decoupled && decay != 0) param.Mul_(1 - lr * decay);
        Tensor g = !_decoupled && decay != 0 ? grad.Add(param, decay) : grad;
        Tensor m = State(index, "exp_avg", param);
        Tensor v = State(index, "exp_avg_sq", param);
        m.Mul_(_beta1).Add_(g, 1 - _beta1);
        v.Mul_(_beta2).AddCMul_(g, g, 1 - _beta2);
        double step = StepCount;
        double bc1 = 1 - Math.Pow(_beta1, step);
        double bc2Sqrt = Math.Sqrt(1 - Math.Pow(_beta2, step));
        Tensor denom = v.Sqrt().Div_(bc2Sqrt).Add_(_eps);
        param.AddCDiv_(m, denom, -lr / bc1);
    }

    /// <inheritdoc />
    protected override IEnumerable<(string, double)> HyperParameters() =>
        [("beta1", _beta1), ("beta2", _beta2), ("eps", _eps), ("weight_decay", _weightDecay)];
}

/// <summary>Adam with decoupled weight decay (Loshchilov &amp; Hutter), PyTorch's AdamW.</summary>
public sealed class AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01,
                          IEnumerable<Tensor>? noWeightDecay = null)
    : Adam(parameters, lr, beta1, beta2, eps, weightDecay, decoupled: true, noWeightDecay);

/// <summary>Gradient clipping.</summary>
public static class GradClip
{
    /// <summary>Scales all gradients so their joint 2-norm is at most <paramref name="maxNorm"/>; returns the norm before clipping.</summary>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm)
    {
        using var scope = DisposeScope.Begin();
        using var noGrad = LibTorch.NoGrad();
        var grads = parameters.Select(p => p.Grad).Where(g => g is not null).Cast<Tensor>().ToList();
        if (grads.Count == 0) return 0;
        Tensor total = Tensor.Stack(grads.Select(g => g.Norm(2)).ToList()).Norm(2);
        double norm = total.ToDouble();
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1)
            foreach (Tensor g in grads) g.Mul_(coef);
        return norm;
    }
}
