using System.Diagnostics;

/// <summary>Alternating measurement rounds, Slovo then its peer, so both see the same machine noise; medians compared.</summary>
internal static class Rounds
{
    /// <summary>The median.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var s = values.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    /// <summary>
    /// <paramref name="rounds"/> rounds of <paramref name="steps"/> calls of <paramref name="slovoStep"/> (timed here) each
    /// followed by <paramref name="peerRound"/> (which times itself and returns seconds per step); the medians of seconds per
    /// step, and each round's ratio Slovo/peer (a round's two halves ran back to back, so slow drift of the machine cancels).
    /// With <paramref name="warmup"/>, each half-round starts with that many untimed steps (Slovo's here; the peer's must
    /// be run by <paramref name="peerRound"/>), so that each side is timed in its own steady state, not in the memory state
    /// the other side left behind.
    /// </summary>
    public static PerStepResult PerStep(int rounds, int steps, Action slovoStep, Func<int, double> peerRound, int warmup = 0)
    {
        var slovo = new List<double>();
        var peer = new List<double>();
        for (int r = 0; r < rounds; ++r)
        {
            // Each side goes first every other round, so that neither always starts from the state the other left
            // behind (memory handed back to the kernel, caches, idle threads still spinning).
            bool peerFirst = r % 2 == 1;
            if (peerFirst) peer.Add(peerRound(steps));
            for (int i = 0; i < warmup; ++i) slovoStep();
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < steps; ++i) slovoStep();
            slovo.Add(sw.Elapsed.TotalSeconds / steps);
            if (!peerFirst) peer.Add(peerRound(steps));
        }
        return new PerStepResult(Median(slovo), Median(peer), slovo.Zip(peer, (a, b) => a / b).ToList());
    }
}

/// <summary>Medians of seconds per step on each side, and the ratio Slovo/peer of every round.</summary>
internal sealed record PerStepResult(double Slovo, double Peer, IReadOnlyList<double> Ratios)
{
    public void Deconstruct(out double slovo, out double peer) => (slovo, peer) = (Slovo, Peer);

    /// <summary>The median of the per-round ratios, their range and how many are at most 1, in one line.</summary>
    public string RatioSummary() =>
        $"median of the per-round ratios {Rounds.Median(Ratios):F3} (range {Ratios.Min():F3}-{Ratios.Max():F3}, {Ratios.Count(r => r <= 1)} of {Ratios.Count} rounds <= 1)";
}
