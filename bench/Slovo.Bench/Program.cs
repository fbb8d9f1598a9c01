using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;

// Side-by-side benchmarks of Slovo.Torch against PyTorch (Debian python3-torch: the same libtorch 1.13), in one run.
// PyTorch runs as a persistent peer process (bench/peer_torch.py), and Slovo and PyTorch rounds alternate one by
// one so both see the same machine noise; medians are compared and the ratio is printed last.
// usage: dotnet run -c Release --project bench/Slovo.Bench -- [add|lstm|all]

string which = args.Length > 0 ? args[0] : "all";
string python = Environment.GetEnvironmentVariable("SLOVO_PYTHON") ?? "/usr/bin/python3";
string peer = Path.Combine(FindRepoRoot(), "bench", "peer_torch.py");
if (!File.Exists(python))
{
    Console.Error.WriteLine($"The PyTorch peer needs {python} with torch. HINT: apt-get install -y python3-torch (or set SLOVO_PYTHON)");
    return 2;
}
Console.WriteLine($"libtorch {LibTorch.Version}, {Environment.ProcessorCount} cores");
if (which is "add" or "all") BenchAdd();
if (which is "lstm" or "all") BenchLstm();
return 0;

void BenchAdd()
{
    const int ops = 1_000_000, rounds = 11;
    LibTorch.Threads = 1;
    using Tensor a = Tensor.Ones(4, 4), b = Tensor.Ones(4, 4);
    using Peer torchPeer = Peer.Start(python, peer);
    torchPeer.Ask("add_setup");
    TimeAdds(a, b, ops); // warm-up
    torchPeer.Ask($"add {ops}");
    var slovo = new List<double>();
    var torch = new List<double>();
    for (int r = 0; r < rounds; ++r)
    {
        slovo.Add(TimeAdds(a, b, ops));
        torch.Add(double.Parse(torchPeer.Ask($"add {ops}"), CultureInfo.InvariantCulture));
    }
    double s = Median(slovo) / ops * 1e6, t = Median(torch) / ops * 1e6;
    Console.WriteLine($"(a) per-op overhead: rounds of 1,000,000 adds of two 4x4 float tensors, 1 thread, median of {rounds} alternating rounds");
    Console.WriteLine($"    Slovo   {s:F3} us/op   (using Tensor c = a + b)");
    Console.WriteLine($"    PyTorch {t:F3} us/op   (c = a + b in Python)");
    Console.WriteLine($"    ratio Slovo/PyTorch = {s / t:F2} (target <= 0.75)");
}

void BenchLstm()
{
    const int vocab = 14358, emb = 128, hidden = 128, layers = 2, batch = 32, seq = 230;
    const int steps = 2, rounds = 7;
    int threads = Environment.ProcessorCount;
    LibTorch.Threads = threads;
    LibTorch.ManualSeed(0);
    using var embedding = new Embedding(vocab, emb);
    using var lstm = new LSTM(emb, hidden, numLayers: layers, batchFirst: true);
    using var head = new Linear(hidden, vocab);
    var parameters = embedding.Parameters().Concat(lstm.Parameters()).Concat(head.Parameters()).ToList();
    using var opt = new Adam(parameters, lr: 1e-3);
    using Tensor x = Tensor.RandInt(0, vocab, [batch, seq]);
    using Tensor y = Tensor.RandInt(0, vocab, [batch * seq]);
    void Step()
    {
        using var scope = DisposeScope.Begin();
        opt.ZeroGrad();
        // Big intermediates are released as soon as they are consumed, as Python's reference counting does;
        // autograd keeps what it needs on its own references.
        Tensor loss;
        using (Tensor emb = embedding.Forward(x))                   // (B, T, E)
        {
            (Tensor output, (Tensor h, Tensor c)) = lstm.Forward(emb); // (B, T, H)
            h.Dispose();
            c.Dispose();
            using (output)
            using (Tensor logits = head.Forward(output))            // (B, T, V)
            using (Tensor flat = logits.Reshape(-1, vocab))          // (B*T, V)
                loss = Losses.CrossEntropy(flat, y);
        }
        loss.Backward();
        opt.Step();
    }
    using Peer torchPeer = Peer.Start(python, peer);
    torchPeer.Ask($"lstm_setup {threads}");
    Step(); // warm-up
    var slovo = new List<double>();
    var torch = new List<double>();
    for (int r = 0; r < rounds; ++r)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; ++i) Step();
        slovo.Add(sw.Elapsed.TotalSeconds / steps);
        torch.Add(double.Parse(torchPeer.Ask($"lstm {steps}"), CultureInfo.InvariantCulture));
    }
    double s = Median(slovo) * 1e3, t = Median(torch) * 1e3;
    Console.WriteLine($"(b) one training step (forward, backward, Adam) of the word-level LSTM LM: vocab {vocab}, emb {emb}, hidden {hidden},");
    Console.WriteLine($"    {layers} layers, batch {batch}, sequence {seq}; {threads} threads; median of {rounds} alternating rounds of {steps} steps");
    Console.WriteLine($"    Slovo   {s:F1} ms/step");
    Console.WriteLine($"    PyTorch {t:F1} ms/step");
    Console.WriteLine($"    ratio Slovo/PyTorch = {s / t:F2} (target <= 1.0)");
}

// The timed loop lives in its own method, compiled fully optimized at once (no tiering, no on-stack replacement).
[MethodImpl(MethodImplOptions.AggressiveOptimization)]
static double TimeAdds(Tensor a, Tensor b, int ops)
{
    var sw = Stopwatch.StartNew();
    for (int i = 0; i < ops; ++i)
    {
        using Tensor c = a + b;
    }
    return sw.Elapsed.TotalSeconds;
}

static double Median(List<double> xs)
{
    var s = xs.Order().ToList();
    return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
}

static string FindRepoRoot()
{
    string? dir = AppContext.BaseDirectory;
    while (dir is not null && !File.Exists(Path.Combine(dir, "bench", "peer_torch.py"))) dir = Path.GetDirectoryName(dir);
    return dir ?? throw new DirectoryNotFoundException("bench/peer_torch.py not found above " + AppContext.BaseDirectory);
}

/// <summary>The persistent PyTorch peer process (bench/peer_torch.py): one command per line, one answer per line.</summary>
internal sealed class Peer : IDisposable
{
    private readonly Process _process;

    private Peer(Process process) => _process = process;

    public static Peer Start(string python, string script)
    {
        var psi = new ProcessStartInfo(python, script) { RedirectStandardInput = true, RedirectStandardOutput = true };
        // The same BLAS configuration Slovo uses: one OpenBLAS thread inside each libtorch worker.
        psi.Environment["OPENBLAS_NUM_THREADS"] = "1";
        return new Peer(Process.Start(psi) ?? throw new InvalidOperationException($"could not start {python}"));
    }

    public string Ask(string command)
    {
        _process.StandardInput.WriteLine(command);
        _process.StandardInput.Flush();
        string? line = _process.StandardOutput.ReadLine();
        if (line is null || line.StartsWith("error", StringComparison.Ordinal))
            throw new InvalidOperationException($"PyTorch peer failed on '{command}': {line ?? "it exited"}. HINT: apt-get install -y python3-torch");
        return line;
    }

    public void Dispose()
    {
        _process.StandardInput.Close();
        _process.WaitForExit(10_000);
        _process.Dispose();
    }
}
