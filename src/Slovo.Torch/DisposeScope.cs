namespace Slovo.Torch;

/// <summary>
/// Collects every tensor created on this thread while it is the innermost scope and disposes them all when
/// it ends, so loops keep native memory flat without a <c>using</c> per tensor. Keep a result alive past the
/// scope with <see cref="Tensor.MoveToOuterScope"/> or <see cref="Tensor.DetachFromScope"/>.
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? _current;

    private readonly List<Tensor> _tensors = new();
    private readonly DisposeScope? _outer;
    private bool _disposed;

    private DisposeScope()
    {
        _outer = _current;
        _current = this;
    }

    /// <summary>The innermost open scope on this thread, or null.</summary>
    public static DisposeScope? Current => _current;

    /// <summary>Opens a scope nested in the current one.</summary>
    public static DisposeScope Begin() => new();

    /// <summary>The number of tensors this scope still owns.</summary>
    public int Count
    {
        get
        {
            int n = 0;
            foreach (Tensor t in _tensors)
                if (ReferenceEquals(t.Scope, this) && !t.IsDisposed) ++n;
            return n;
        }
    }

    internal DisposeScope? Outer => _outer;

    internal void Add(Tensor t)
    {
        t.Scope = this;
        _tensors.Add(t);
    }

    /// <summary>Moves <paramref name="t"/> to the enclosing scope (or to no scope) and returns it.</summary>
    public Tensor Keep(Tensor t) => t.MoveToOuterScope();

    /// <summary>Disposes every tensor still owned by this scope.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (Tensor t in _tensors)
            if (ReferenceEquals(t.Scope, this))
                t.Dispose();
        _tensors.Clear();
        if (ReferenceEquals(_current, this)) _current = _outer;
    }
}
