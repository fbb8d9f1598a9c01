namespace Slovo.Torch.NN;

/// <summary>
/// A network component that owns named parameters, buffers and child modules, with PyTorch's naming
/// ("encoder.layers.0.weight") so that state dicts load key for key. Parameters keep their identity across
/// <see cref="To(Device)"/>, so an optimizer built before a move still updates them.
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<(string Name, Tensor? Tensor)> _parameters = new();
    private readonly List<(string Name, Tensor? Tensor)> _buffers = new();
    private readonly List<(string Name, Module Module)> _modules = new();
    private bool _disposed;

    /// <summary>Whether the module is in training mode (dropout active and the like).</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Registers a parameter under <paramref name="name"/>: it leaves every dispose scope and requires grad.</summary>
    protected Tensor RegisterParameter(string name, Tensor tensor, bool requiresGrad = true)
    {
        CheckName(name);
        tensor.DetachFromScope();
        tensor.RequiresGrad = requiresGrad;
        _parameters.Add((name, tensor));
        return tensor;
    }

    /// <summary>Registers a non-trainable tensor that is part of the state dict (e.g. running statistics).</summary>
    protected Tensor RegisterBuffer(string name, Tensor tensor)
    {
        CheckName(name);
        tensor.DetachFromScope();
        _buffers.Add((name, tensor));
        return tensor;
    }

    /// <summary>Registers a child module under <paramref name="name"/>.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckName(name);
        _modules.Add((name, module));
        return module;
    }

    private void CheckName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('.')) throw new ArgumentException($"'{name}': names may not contain '.'", nameof(name));
        if (_parameters.Any(p => p.Name == name) || _buffers.Any(b => b.Name == name) || _modules.Any(m => m.Name == name))
            throw new ArgumentException($"'{name}' is already registered in {GetType().Name}", nameof(name));
    }

    /// <summary>Child modules with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _modules;

    /// <summary>
    /// Whether training this module draws random numbers from libtorch's process-wide generator because an operator it
    /// calls accepts no other (the fused multi-layer RNN's inter-layer dropout). Everything else draws from the thread's
    /// <see cref="RandomGenerator.Current"/>.
    /// </summary>
    public virtual bool DrawsFromGlobalGenerator => _modules.Any(m => m.Module.DrawsFromGlobalGenerator);

    /// <summary>Parameters with dotted names, children after own.</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters(bool recurse = true)
    {
        foreach ((string n, Tensor? t) in _parameters)
            if (t is not null) yield return (n, t);
        if (!recurse) yield break;
        foreach ((string mn, Module m) in _modules)
            foreach ((string n, Tensor t) in m.NamedParameters())
                yield return ($"{mn}.{n}", t);
    }

    /// <summary>All parameters (own and children's).</summary>
    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>Buffers with dotted names.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers()
    {
        foreach ((string n, Tensor? t) in _buffers)
            if (t is not null) yield return (n, t);
        foreach ((string mn, Module m) in _modules)
            foreach ((string n, Tensor t) in m.NamedBuffers())
                yield return ($"{mn}.{n}", t);
    }

    /// <summary>The number of elements in all parameters (trainable only when <paramref name="trainableOnly"/>).</summary>
    public long ParameterCount(bool trainableOnly = false) =>
        Parameters().Where(p => !trainableOnly || p.RequiresGrad).Sum(p => p.NumElements);

    /// <summary>Parameters and buffers by dotted name. The tensors are the module's own (not copies).</summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach ((string n, Tensor t) in NamedParameters()) d[n] = t;
        foreach ((string n, Tensor t) in NamedBuffers()) d[n] = t;
        return d;
    }

    /// <summary>
    /// Copies values from <paramref name="state"/> into the parameters and buffers, checking every shape.
    /// With <paramref name="strict"/>, a missing or unexpected key is an error that lists them all.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        Dictionary<string, Tensor> own = StateDict();
        if (strict)
        {
            var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
            var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
            if (missing.Count > 0 || unexpected.Count > 0)
                throw new ArgumentException(
                    $"state dict does not match {GetType().Name}: missing [{string.Join(", ", missing)}], " +
                    $"unexpected [{string.Join(", ", unexpected)}]", nameof(state));
        }
        using var scope = DisposeScope.Begin();
        using var noGrad = LibTorch.NoGrad();
        foreach ((string name, Tensor target) in own)
        {
            if (!state.TryGetValue(name, out Tensor? source)) continue;
            long[] want = target.Shape, have = source.Shape;
            if (!want.SequenceEqual(have))
                throw new ArgumentException(
                    $"'{name}': shape [{string.Join(", ", have)}] in the state dict, [{string.Join(", ", want)}] in the module",
                    nameof(state));
            target.Copy_(source);
        }
    }

    /// <summary>Sets training mode here and in every child.</summary>
    public virtual Module Train(bool on = true)
    {
        Training = on;
        foreach ((_, Module m) in _modules) m.Train(on);
        return this;
    }

    /// <summary>Sets evaluation mode (same as <c>Train(false)</c>).</summary>
    public Module Eval() => Train(false);

    /// <summary>Where the parameters live: the CPU until <see cref="To(Device)"/> moves them.</summary>
    public Device Device { get; private set; } = Device.CPU;

    /// <summary>Moves every parameter and buffer to <paramref name="device"/>, keeping tensor identity.</summary>
    public Module To(Device device)
    {
        Apply(t => t.To(device));
        SetDevice(device);
        OnMoved();
        return this;
    }

    private void SetDevice(Device device)
    {
        Device = device;
        foreach ((_, Module m) in _modules) m.SetDevice(device);
    }

    /// <summary>Called on the module that was moved, after its parameters are on the new device (e.g. to re-lay recurrent weights for cuDNN).</summary>
    protected virtual void OnMoved()
    {
        foreach ((_, Module m) in _modules) m.OnMoved();
    }

    /// <summary>
    /// A tensor made on the host (input ids, targets, masks) on this module's device: itself on the CPU, else a copy, and then
    /// <paramref name="host"/> is released.
    /// </summary>
    public Tensor ToDevice(Tensor host)
    {
        if (Device.Type == DeviceType.CPU) return host;
        Tensor moved = host.To(Device);
        host.Dispose();
        return moved;
    }

    /// <summary>Converts floating-point parameters and buffers to <paramref name="dtype"/>.</summary>
    public Module To(ScalarType dtype) => Apply(t => t.DType.IsFloatingPoint() ? t.To(dtype) : t.Alias());

    private Module Apply(Func<Tensor, Tensor> convert)
    {
        using var noGrad = LibTorch.NoGrad();
        foreach (Tensor t in Parameters().Concat(NamedBuffers().Select(b => b.Buffer)))
        {
            using Tensor moved = convert(t);
            t.SetData(moved);
        }
        return this;
    }

    /// <summary>Drops (or zeroes) every parameter's gradient.</summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (Tensor p in Parameters()) p.ZeroGrad(setToNone);
    }

    /// <summary>Releases every parameter and buffer, and the children's.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach ((_, Tensor? t) in _parameters) t?.Dispose();
        foreach ((_, Tensor? t) in _buffers) t?.Dispose();
        foreach ((_, Module m) in _modules) m.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A module with one input and one output, composable in <see cref="Sequential"/>.</summary>
public abstract class Module<TIn, TOut> : Module
{
    /// <summary>Computes the output.</summary>
    public abstract TOut Forward(TIn input);

    /// <summary>Same as <see cref="Forward"/>.</summary>
    public TOut Call(TIn input) => Forward(input);
}

/// <summary>Applies modules one after another.</summary>
public sealed class Sequential : Module<Tensor, Tensor>
{
    private readonly List<Module<Tensor, Tensor>> _layers = new();

    /// <summary>Chains the given modules; they are named "0", "1", ... as in PyTorch.</summary>
    public Sequential(params Module<Tensor, Tensor>[] layers)
    {
        for (int i = 0; i < layers.Length; ++i) _layers.Add(RegisterModule(i.ToString(System.Globalization.CultureInfo.InvariantCulture), layers[i]));
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        Tensor x = input;
        for (int i = 0; i < _layers.Count; ++i)
        {
            Tensor y = _layers[i].Forward(x);
            if (!ReferenceEquals(x, input) && x.Scope is null) x.Dispose();
            x = y;
        }
        return x;
    }
}

/// <summary>Holds modules as children named "0", "1", ... (like torch.nn.ModuleList), so they train, save and count as one.</summary>
public sealed class ModuleList : Module
{
    /// <summary>Groups <paramref name="modules"/>; disposing the list disposes them.</summary>
    public ModuleList(params Module[] modules)
    {
        for (int i = 0; i < modules.Length; ++i) RegisterModule(i.ToString(System.Globalization.CultureInfo.InvariantCulture), modules[i]);
    }
}
