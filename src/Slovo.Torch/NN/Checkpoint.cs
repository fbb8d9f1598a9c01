using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Slovo.Torch.Native;

namespace Slovo.Torch.NN;

/// <summary>
/// Activation checkpointing (PyTorch's <c>torch.utils.checkpoint</c>, reentrant form): a segment of a network runs forward
/// without keeping the activations that its backward pass needs, and runs again when the backward pass reaches it, so a deep
/// model trains in the memory of one segment's activations instead of all of them, for about one more forward pass of
/// compute. The replay draws the same dropout (from a copy of the thread's <see cref="RandomGenerator.Current"/> taken before
/// the forward pass) under the same autocast state, so the gradients are those of the plain run.
/// </summary>
public static unsafe class Checkpoint
{
    private static readonly ConcurrentDictionary<long, Segment> s_segments = new();
    private static long s_next;

    /// <summary>Segments recomputed by backward passes so far, in this process.</summary>
    public static long Recomputed => Interlocked.Read(ref s_recomputed);

    private static long s_recomputed;

    /// <summary>Segments run forward whose backward pass has not come yet (each holds its input and constants until then).</summary>
    public static int Pending => s_segments.Count;

    /// <summary>
    /// Runs <paramref name="segment"/> on <paramref name="input"/> checkpointed when autograd records (else plainly). The segment
    /// gets its input and <paramref name="constants"/> (tensors it reads but needs no gradient for: masks, rotary tables), kept
    /// until the replay, and returns its output and side outputs (e.g. a layer's keys and values). The side outputs of the forward
    /// pass are returned; the replay's are dropped. Parameters the segment uses receive their gradients during the backward pass.
    /// </summary>
    public static (Tensor Output, Tensor[] Side) Run(Tensor input, IReadOnlyList<Tensor?> constants,
                                                     Func<Tensor, IReadOnlyList<Tensor?>, (Tensor Output, Tensor[] Side)> segment)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(constants);
        ArgumentNullException.ThrowIfNull(segment);
        if (!LibTorch.IsGradEnabled) return segment(input, constants);
        // An input that needs no gradient (frozen embeddings under LoRA) would leave the output outside the graph and the
        // segment's own parameters without gradients: the segment reads an alias of it that asks for one.
        using Tensor? asking = input.RequiresGrad ? null : input.Detach().DetachFromScope();
        if (asking is not null)
        {
            asking.RequiresGrad = true;
            input = asking;
        }
        var s = new Segment(segment, constants.Select(c => c?.Alias().DetachFromScope()).ToArray(), RandomGenerator.Current?.Clone());
        long id = Interlocked.Increment(ref s_next);
        s_segments[id] = s;
        IntPtr h;
        int rc = NativeMethods.slovo_checkpoint((IntPtr)(delegate* unmanaged<long, IntPtr, int, IntPtr*, int>)&Call, id, input.Handle, &h);
        GC.KeepAlive(input);
        if (rc != 0)
        {
            if (s_segments.TryRemove(id, out _)) s.Dispose();
            if (s.Failure is { } failure) throw new InvalidOperationException($"a checkpointed segment failed: {failure.Message}", failure);
            NativeLibraryLoader.Check(rc);
        }
        var output = new Tensor(h);
        Tensor[] side = s.TakeSide();
        return (output, side);
    }

    [UnmanagedCallersOnly]
    private static int Call(long id, IntPtr input, int replay, IntPtr* output)
    {
        if (!s_segments.TryGetValue(id, out Segment? s)) return 1;
        try
        {
            using var scope = DisposeScope.Begin();
            var x = new Tensor(input);
            (Tensor y, Tensor[] side) = replay != 0 && s.Replay is { } g ? Replayed(s, x, g) : s.Function(x, s.Constants);
            IntPtr shared;
            NativeLibraryLoader.Check(NativeMethods.slovo_tensor_share(y.Handle, &shared));
            *output = shared;
            if (replay == 0) s.KeepSide(side);
            else
            {
                Interlocked.Increment(ref s_recomputed);
                if (s_segments.TryRemove(id, out _)) s.Dispose(); // a segment is replayed once, by its backward pass
            }
            return 0;
        }
        catch (Exception e)
        {
            s.Failure = e;
            return 1;
        }
    }

    private static (Tensor, Tensor[]) Replayed(Segment s, Tensor x, RandomGenerator g)
    {
        using RandomGenerator.Scope use = g.Use();
        return s.Function(x, s.Constants);
    }

    private sealed class Segment(Func<Tensor, IReadOnlyList<Tensor?>, (Tensor, Tensor[])> function, Tensor?[] constants, RandomGenerator? replay) : IDisposable
    {
        private Tensor[] _side = [];

        public Func<Tensor, IReadOnlyList<Tensor?>, (Tensor, Tensor[])> Function { get; } = function;

        public Tensor?[] Constants { get; } = constants;

        public RandomGenerator? Replay { get; } = replay;

        public Exception? Failure { get; set; }

        public void KeepSide(Tensor[] side) => _side = side.Select(t => t.Alias().DetachFromScope()).ToArray();

        // The forward pass's side outputs as tensors of the caller's scope.
        public Tensor[] TakeSide()
        {
            Tensor[] side = _side.Select(t => t.Alias()).ToArray();
            foreach (Tensor t in _side) t.Dispose();
            _side = [];
            return side;
        }

        public void Dispose()
        {
            foreach (Tensor? t in Constants) t?.Dispose();
            foreach (Tensor t in _side) t.Dispose();
            Replay?.Dispose();
        }
    }
}
