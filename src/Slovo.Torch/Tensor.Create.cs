using Slovo.Torch.Native;

namespace Slovo.Torch;

public sealed unsafe partial class Tensor
{
    private static readonly Op s_zeros = new("zeros");
    private static readonly Op s_ones = new("ones");
    private static readonly Op s_empty = new("empty", "memory_format");
    private static readonly Op s_full = new("full");
    private static readonly Op s_arange = new("arange", "start_step");
    private static readonly Op s_linspace = new("linspace");
    private static readonly Op s_rand = new("rand", "generator");
    private static readonly Op s_randn = new("randn", "generator");
    private static readonly Op s_randint = new("randint", "low_generator");
    private static readonly Op s_randperm = new("randperm", "generator");
    private static readonly Op s_eye = new("eye");
    private static readonly Op s_emptyLike = new("empty_like");
    private static readonly Op s_scalarTensor = new("scalar_tensor");

    /// <summary>Copies <paramref name="data"/> into a new 1-d CPU tensor, as torch.tensor([...]) does.</summary>
    public static Tensor From<T>(ReadOnlySpan<T> data) where T : unmanaged => From(data, [data.Length]);

    /// <summary>Copies an array into a new 1-d CPU tensor.</summary>
    public static Tensor From<T>(T[] data) where T : unmanaged => From<T>((ReadOnlySpan<T>)data, [data.Length]);

    /// <summary>Copies <paramref name="data"/> into a new CPU tensor of exactly the given shape (an empty shape is 0-d).</summary>
    public static Tensor From<T>(ReadOnlySpan<T> data, params ReadOnlySpan<long> shape) where T : unmanaged
    {
        NativeLibraryLoader.EnsureLoaded();
        long[] dims = shape.ToArray();
        long count = 1;
        foreach (long d in dims)
        {
            if (d < 0) throw new ArgumentException($"negative dimension {d} in shape [{string.Join(", ", dims)}]", nameof(shape));
            count *= d;
        }
        if (count != data.Length)
            throw new ArgumentException($"shape [{string.Join(", ", dims)}] holds {count} elements but {data.Length} were given", nameof(data));
        IntPtr h;
        fixed (T* pd = data)
        fixed (long* ps = dims)
            NativeLibraryLoader.Check(NativeMethods.slovo_tensor_from_data(pd, (long)data.Length * sizeof(T), ps, dims.Length,
                (int)ScalarTypes.Of<T>(), &h));
        return new Tensor(h);
    }

    /// <summary>Copies an array into a new CPU tensor of exactly the given shape.</summary>
    public static Tensor From<T>(T[] data, params long[] shape) where T : unmanaged =>
        From<T>((ReadOnlySpan<T>)data, (ReadOnlySpan<long>)shape);

    /// <summary>Creates a CPU tensor from raw little-endian bytes of the given element type.</summary>
    public static Tensor FromBytes(ReadOnlySpan<byte> bytes, long[] shape, ScalarType dtype)
    {
        NativeLibraryLoader.EnsureLoaded();
        IntPtr h;
        fixed (byte* pd = bytes)
        fixed (long* ps = shape)
            NativeLibraryLoader.Check(NativeMethods.slovo_tensor_from_data(pd, bytes.Length, ps, shape.Length, (int)dtype, &h));
        return new Tensor(h);
    }

    /// <summary>The elements as raw bytes (row-major, native little-endian).</summary>
    public byte[] ToBytes()
    {
        NativeTensorInfo info = Info();
        var bytes = new byte[checked(info.Numel * ((ScalarType)info.DType).ElementSize())];
        fixed (byte* p = bytes)
            CheckAlive(NativeMethods.slovo_tensor_copy_to(Handle, p, bytes.Length));
        return bytes;
    }

    /// <summary>Copies a 2-d array into a new CPU tensor.</summary>
    public static Tensor From<T>(T[,] data) where T : unmanaged
    {
        var flat = new T[data.Length];
        int k = 0;
        foreach (T v in data) flat[k++] = v;
        return From(flat, data.GetLength(0), data.GetLength(1));
    }

    /// <summary>A 0-d tensor holding <paramref name="value"/>.</summary>
    public static Tensor Scalar(double value, ScalarType dtype = ScalarType.Float32) =>
        s_scalarTensor.Call(value, dtype);

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        s_zeros.Call(NativeArg.Ints(shape), dtype, NativeArg.None, DeviceArg(device));

    /// <summary>A float32 tensor of zeros.</summary>
    public static Tensor Zeros(params long[] shape) => Zeros(shape, ScalarType.Float32);

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        s_ones.Call(NativeArg.Ints(shape), dtype, NativeArg.None, DeviceArg(device));

    /// <summary>A float32 tensor of ones.</summary>
    public static Tensor Ones(params long[] shape) => Ones(shape, ScalarType.Float32);

    /// <summary>An uninitialised tensor.</summary>
    public static Tensor Empty(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        s_empty.Call(NativeArg.Ints(shape), dtype, NativeArg.None, DeviceArg(device));

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(long[] shape, double value, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        s_full.Call(NativeArg.Ints(shape), NativeArg.Scalar(value), dtype, NativeArg.None, DeviceArg(device));

    /// <summary>Values start, start+step, ... below end.</summary>
    public static Tensor Arange(double start, double end, double step = 1, ScalarType dtype = ScalarType.Int64, Device? device = null) =>
        s_arange.Call(NativeArg.Scalar(start), NativeArg.Scalar(end), NativeArg.Scalar(step), dtype, NativeArg.None, DeviceArg(device));

    /// <summary>Values 0, 1, ..., end-1 (int64).</summary>
    public static Tensor Arange(long end) => Arange(0, end);

    /// <summary><paramref name="steps"/> evenly spaced values from start to end inclusive.</summary>
    public static Tensor Linspace(double start, double end, long steps, ScalarType dtype = ScalarType.Float32) =>
        s_linspace.Call(NativeArg.Scalar(start), NativeArg.Scalar(end), steps, dtype);

    /// <summary>Uniform random values in [0, 1), drawn from <paramref name="generator"/> (default: <see cref="RandomGenerator.Current"/>).</summary>
    public static Tensor Rand(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, RandomGenerator? generator = null) =>
        s_rand.Call(NativeArg.Ints(shape), NativeArg.Of(generator ?? RandomGenerator.For(device ?? Device.CPU)), dtype, NativeArg.None, DeviceArg(device));

    /// <summary>Uniform random float32 values in [0, 1).</summary>
    public static Tensor Rand(params long[] shape) => Rand(shape, ScalarType.Float32);

    /// <summary>Standard normal random values, drawn from <paramref name="generator"/> (default: <see cref="RandomGenerator.Current"/>).</summary>
    public static Tensor RandN(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, RandomGenerator? generator = null) =>
        s_randn.Call(NativeArg.Ints(shape), NativeArg.Of(generator ?? RandomGenerator.For(device ?? Device.CPU)), dtype, NativeArg.None, DeviceArg(device));

    /// <summary>Standard normal random float32 values.</summary>
    public static Tensor RandN(params long[] shape) => RandN(shape, ScalarType.Float32);

    /// <summary>Random integers in [low, high), drawn from <paramref name="generator"/> (default: <see cref="RandomGenerator.Current"/>).</summary>
    public static Tensor RandInt(long low, long high, long[] shape, Device? device = null, RandomGenerator? generator = null) =>
        s_randint.Call(low, high, NativeArg.Ints(shape), NativeArg.Of(generator ?? RandomGenerator.For(device ?? Device.CPU)), ScalarType.Int64,
            NativeArg.None, DeviceArg(device));

    /// <summary>A random permutation of 0..n-1, drawn from <paramref name="generator"/> (default: <see cref="RandomGenerator.Current"/>).</summary>
    public static Tensor RandPerm(long n, RandomGenerator? generator = null) =>
        s_randperm.Call(n, NativeArg.Of(generator ?? RandomGenerator.For(Device.CPU)), ScalarType.Int64);

    /// <summary>An uninitialised tensor with <paramref name="like"/>'s shape, dtype, device and memory layout.</summary>
    public static Tensor EmptyLike(Tensor like) => s_emptyLike.Call(like);

    /// <summary>The n×n identity matrix.</summary>
    public static Tensor Eye(long n, ScalarType dtype = ScalarType.Float32) => s_eye.Call(n, dtype);

    private static NativeArg DeviceArg(Device? device) => device is null ? NativeArg.None : NativeArg.Of(device.Value);

    /// <summary>Copies the elements (row-major) into a new array; <typeparamref name="T"/> must match <see cref="DType"/>.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        ScalarType want = ScalarTypes.Of<T>();
        if (DType != want)
            throw new InvalidOperationException($"tensor holds {DType}, not {want}; convert first with To(ScalarType.{want})");
        var result = new T[NumElements];
        CopyTo<T>(result);
        return result;
    }

    /// <summary>Copies the elements (row-major) into <paramref name="destination"/>, which must be exactly the right size.</summary>
    public void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        if (ScalarTypes.Of<T>() != DType)
            throw new ArgumentException($"tensor holds {DType} but the destination is {typeof(T).Name}", nameof(destination));
        fixed (T* p = destination)
            CheckAlive(NativeMethods.slovo_tensor_copy_to(Handle, p, (long)destination.Length * sizeof(T)));
    }

    /// <summary>Overwrites the elements from host memory (no autograd), keeping shape, dtype and device.</summary>
    public void CopyFrom<T>(ReadOnlySpan<T> source) where T : unmanaged
    {
        if (ScalarTypes.Of<T>() != DType)
            throw new ArgumentException($"tensor holds {DType} but the source is {typeof(T).Name}", nameof(source));
        fixed (T* p = source)
            CheckAlive(NativeMethods.slovo_tensor_copy_from(Handle, p, (long)source.Length * sizeof(T)));
    }

    /// <summary>Overwrites the elements from raw bytes in the tensor's own type (row-major, little-endian), keeping shape, dtype and device; no autograd (as when loading weights).</summary>
    public void CopyFromBytes(ReadOnlySpan<byte> source)
    {
        long want = NumElements * DType.ElementSize();
        if (source.Length != want) throw new ArgumentException($"{source.Length} bytes for a tensor of {want}", nameof(source));
        if (Device.Type == DeviceType.CPU && IsContiguous)
        {
            // Straight into the tensor's own memory: no temporary copy of the whole tensor.
            void* data;
            CheckAlive(NativeMethods.slovo_tensor_data_ptr(Handle, &data));
            if (data != null || source.Length == 0)
            {
                source.CopyTo(new Span<byte>(data, source.Length));
                return;
            }
        }
        fixed (byte* p = source)
            CheckAlive(NativeMethods.slovo_tensor_copy_from(Handle, p, source.Length));
    }

    /// <summary>The value of a one-element tensor as a double.</summary>
    public double ToDouble()
    {
        double v;
        CheckAlive(NativeMethods.slovo_tensor_item_double(Handle, &v));
        return v;
    }

    /// <summary>The value of a one-element tensor as a float.</summary>
    public float ToSingle() => (float)ToDouble();

    /// <summary>The value of a one-element tensor as a long.</summary>
    public long ToInt64()
    {
        long v;
        CheckAlive(NativeMethods.slovo_tensor_item_int64(Handle, &v));
        return v;
    }

    /// <summary>The value of a one-element tensor as a bool.</summary>
    public bool ToBoolean() => ToInt64() != 0;
}
