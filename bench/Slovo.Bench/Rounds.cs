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
    /// followed by <paramref name="peerRound"/> (which times itself and returns seconds per step); the medians of seconds per step.
    /// </summary>
    public static (double Slovo, double Peer) PerStep(int rounds, int steps, Action slovoStep, Func<int, double> peerRound)
    {
        var slovo = new List<double>();
        var peer = new List<double>();
        for (int r = 0; r < rounds; ++r)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < steps; ++i) slovoStep();
            slovo.Add(sw.Elapsed.TotalSeconds / steps);
            peer.Add(peerRound(steps));
        }
        return (Median(slovo), Median(peer));
    }
}
