using Slovo.Torch.Native;

namespace Slovo.Torch;

/// <summary>
/// A random-number generator of its own for one device. Every random operator of Slovo (dropout, bernoulli, normal and
/// uniform initialisation, rand/randn/randint/randperm, multinomial) takes one explicitly or uses the thread's
/// <see cref="Current"/> generator (set with <see cref="Use"/>), and only without either falls back to libtorch's
/// process-wide generator. So two runs on two threads draw independently, and a run that reseeds its own generator
/// each step replays exactly without touching anyone else's draws.
/// </summary>
/// <remarks>
/// A generator seeded with s gives the same draws as libtorch's default generator after <see cref="LibTorch.ManualSeed"/>(s)
/// (it starts as a copy of the device's default generator, then takes the seed).
/// </remarks>
public sealed unsafe class RandomGenerator : IDisposable
{
    [ThreadStatic] private static RandomGenerator? t_current;
    private IntPtr _handle;

    /// <summary>A generator for <paramref name="device"/> (the CPU by default), seeded with <paramref name="seed"/>.</summary>
    public RandomGenerator(ulong seed, Device? device = null)
    {
        NativeLibraryLoader.EnsureLoaded();
        Device = device ?? Device.CPU;
        IntPtr h;
        NativeLibraryLoader.Check(NativeMethods.slovo_generator_new((int)Device.Type, Device.Index, seed, &h));
        _handle = h;
        Seed = seed;
    }

    private RandomGenerator(IntPtr handle, Device device, ulong seed) => (_handle, Device, Seed) = (handle, device, seed);

    /// <summary>A copy in this generator's current state: it draws exactly what this one would draw next, without moving it.</summary>
    public RandomGenerator Clone()
    {
        IntPtr h;
        NativeLibraryLoader.Check(NativeMethods.slovo_generator_clone(Handle, &h));
        GC.KeepAlive(this);
        return new RandomGenerator(h, Device, Seed);
    }

    /// <summary>The device whose random operators it serves.</summary>
    public Device Device { get; }

    /// <summary>The seed it was last given.</summary>
    public ulong Seed { get; private set; }

    /// <summary>The generator that random operators on this thread use when none is passed (null: libtorch's global one).</summary>
    public static RandomGenerator? Current => t_current;

    /// <summary><see cref="Current"/> when it serves <paramref name="device"/>, else null (the device's global generator).</summary>
    public static RandomGenerator? For(Device device)
    {
        RandomGenerator? g = t_current;
        return g is not null && g.Device.Type == device.Type ? g : null;
    }

    /// <summary>
    /// Runs <paramref name="make"/> (typically a model's constructor, whose initialisers draw random weights) with a fresh
    /// CPU generator seeded <paramref name="seed"/> as the thread's current one: the same seed gives the same weights,
    /// whatever other threads draw meanwhile.
    /// </summary>
    public static T Seeded<T>(ulong seed, Func<T> make)
    {
        ArgumentNullException.ThrowIfNull(make);
        using var g = new RandomGenerator(seed);
        using Scope use = g.Use();
        return make();
    }

    /// <summary>Restarts the generator from <paramref name="seed"/>.</summary>
    public void ManualSeed(ulong seed)
    {
        NativeLibraryLoader.Check(NativeMethods.slovo_generator_seed(Handle, seed));
        GC.KeepAlive(this);
        Seed = seed;
    }

    /// <summary>Makes this the thread's <see cref="Current"/> generator until the returned scope is disposed.</summary>
    public Scope Use()
    {
        ObjectDisposedException.ThrowIf(_handle == IntPtr.Zero, this);
        var scope = new Scope(t_current);
        t_current = this;
        return scope;
    }

    internal IntPtr Handle
    {
        get
        {
            IntPtr h = _handle;
            ObjectDisposedException.ThrowIf(h == IntPtr.Zero, this);
            return h;
        }
    }

    /// <summary>Releases the native generator.</summary>
    public void Dispose()
    {
        IntPtr h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h == IntPtr.Zero) return;
        if (ReferenceEquals(t_current, this)) t_current = null;
        NativeMethods.slovo_generator_free(h);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the native generator if it was never disposed.</summary>
    ~RandomGenerator()
    {
        IntPtr h = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (h != IntPtr.Zero) NativeMethods.slovo_generator_free(h);
    }

    /// <summary>Restores the previous <see cref="Current"/> generator when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly RandomGenerator? _previous;

        internal Scope(RandomGenerator? previous) => _previous = previous;

        /// <summary>Puts the previous generator back.</summary>
        public void Dispose() => t_current = _previous;
    }
}
