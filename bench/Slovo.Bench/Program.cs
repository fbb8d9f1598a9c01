using System.Diagnostics;
using Slovo.Torch;
using Slovo.Torch.Native;

Torch.Threads = 1;
using var a = Tensor.Ones(4, 4);
using var b = Tensor.Ones(4, 4);
var op = new Op("add", "Tensor");
_ = op.Schema;
double rn = 1e9, de = 1e9, sc = 1e9, s100 = 1e9;
unsafe
{
    for (int round = 0; round < 15; ++round)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 100_000; ++i)
        {
            IntPtr r;
            NativeMethods.slovo_op_call_tts(op.Handle, a.Handle, b.Handle, 1, 1, &r);
            NativeMethods.slovo_tensor_free(r);
        }
        rn = Math.Min(rn, sw.Elapsed.TotalMilliseconds * 10);
        sw.Restart();
        for (int i = 0; i < 100_000; ++i) { using Tensor c = a + b; }
        de = Math.Min(de, sw.Elapsed.TotalMilliseconds * 10);
        sw.Restart();
        using (var scope = DisposeScope.Begin())
            for (int i = 0; i < 100_000; ++i) { _ = a + b; }
        sc = Math.Min(sc, sw.Elapsed.TotalMilliseconds * 10);
        sw.Restart();
        for (int j = 0; j < 1000; ++j)
            using (var scope = DisposeScope.Begin())
                for (int i = 0; i < 100; ++i) { _ = a + b; }
        s100 = Math.Min(s100, sw.Elapsed.TotalMilliseconds * 10);
    }
}
Console.WriteLine($"ns/op min: raw {rn:F0} dispose {de:F0} scope100k {sc:F0} scope/100 {s100:F0}");
