using System.Globalization;
using System.Text;

namespace Slovo.Torch;

// Printing: values in nested brackets like PyTorch, summarised with "..." past 1000 elements.
public sealed partial class Tensor
{
    private const int SummaryThreshold = 1000;
    private const int EdgeItems = 3;

    /// <summary>Shape, dtype, device and the values, e.g. <c>tensor([[1, 2], [3, 4]], shape=[2, 2], dtype=Int64)</c>.</summary>
    public override string ToString()
    {
        if (IsDisposed) return "tensor(<disposed>)";
        long[] shape = Shape;
        ScalarType dtype = DType;
        double[] values;
        using (Tensor cpu = To(Device.CPU))
        using (Tensor flat = cpu.To(ScalarType.Float64))
            values = flat.ToArray<double>();
        bool integral = !dtype.IsFloatingPoint();
        var sb = new StringBuilder("tensor(");
        AppendLevel(sb, values, shape, 0, 0, integral, dtype == ScalarType.Bool, values.Length > SummaryThreshold);
        sb.Append(", shape=[").Append(string.Join(", ", shape)).Append("], dtype=").Append(dtype);
        Device device = Device;
        if (device.Type != DeviceType.CPU) sb.Append(", device=").Append(device);
        if (RequiresGrad) sb.Append(", requires_grad=True");
        return sb.Append(')').ToString();
    }

    private static void AppendLevel(StringBuilder sb, double[] v, long[] shape, int level, long offset, bool integral, bool boolean, bool summarise)
    {
        if (level == shape.Length)
        {
            sb.Append(FormatValue(v[offset], integral, boolean));
            return;
        }
        long n = shape[level];
        long stride = 1;
        for (int k = level + 1; k < shape.Length; ++k) stride *= shape[k];
        sb.Append('[');
        for (long i = 0; i < n; ++i)
        {
            if (summarise && n > 2 * EdgeItems && i == EdgeItems)
            {
                sb.Append("..., ");
                i = n - EdgeItems - 1;
                continue;
            }
            AppendLevel(sb, v, shape, level + 1, offset + i * stride, integral, boolean, summarise);
            if (i < n - 1) sb.Append(", ");
        }
        sb.Append(']');
    }

    private static string FormatValue(double x, bool integral, bool boolean)
    {
        if (boolean) return x != 0 ? "True" : "False";
        if (integral) return ((long)x).ToString(CultureInfo.InvariantCulture);
        if (double.IsNaN(x)) return "nan";
        if (double.IsInfinity(x)) return x > 0 ? "inf" : "-inf";
        return x.ToString("0.0000", CultureInfo.InvariantCulture);
    }
}
