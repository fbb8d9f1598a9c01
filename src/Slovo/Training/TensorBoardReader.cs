using Google.Protobuf;

namespace Slovo.Training;

/// <summary>One logged scalar: its tag (e.g. "train/loss"), step, value and wall time (Unix seconds).</summary>
public readonly record struct ScalarEvent(string Tag, long Step, double Value, double WallTime);

/// <summary>
/// Reads the scalars back from a run's TensorBoard event files (the format <see cref="TensorBoardWriter"/> writes, and
/// TensorFlow's and PyTorch's writers too). A record cut short by a killed run ends that file quietly; a step logged again
/// after a resume keeps its latest value.
/// </summary>
public static class TensorBoardReader
{
    /// <summary>Every scalar in the <c>events.out.tfevents.*</c> files of <paramref name="directory"/>, by tag then step.</summary>
    public static IReadOnlyList<ScalarEvent> ReadScalars(string directory)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"no TensorBoard folder at {Path.GetFullPath(directory)}");
        var latest = new Dictionary<(string, long), ScalarEvent>();
        foreach (string file in Directory.GetFiles(directory, "events.out.tfevents.*"))
            foreach (ScalarEvent e in ReadFile(file))
                if (!latest.TryGetValue((e.Tag, e.Step), out ScalarEvent seen) || e.WallTime >= seen.WallTime) latest[(e.Tag, e.Step)] = e;
        return latest.Values.OrderBy(e => e.Tag, StringComparer.Ordinal).ThenBy(e => e.Step).ToList();
    }

    private static IEnumerable<ScalarEvent> ReadFile(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int at = 0;
        while (at + 12 <= bytes.Length)
        {
            ulong length = BitConverter.ToUInt64(bytes, at);
            if (length > int.MaxValue || at + 12 + (long)length + 4 > bytes.Length) yield break; // cut short
            int start = at + 12;
            at = start + (int)length + 4;
            foreach (ScalarEvent e in ParseEvent(new ReadOnlySpan<byte>(bytes, start, (int)length).ToArray(), path)) yield return e;
        }
    }

    // Event: wall_time = 1 (double), step = 2 (int64), summary = 5; Summary.value = 1; Value.tag = 1, Value.simple_value = 2.
    private static List<ScalarEvent> ParseEvent(byte[] data, string path)
    {
        var found = new List<(string Tag, float Value)>();
        double wall = 0;
        long step = 0;
        try
        {
            var input = new CodedInputStream(data);
            uint tag;
            while ((tag = input.ReadTag()) != 0)
                switch (WireFormat.GetTagFieldNumber(tag))
                {
                    case 1: wall = input.ReadDouble(); break;
                    case 2: step = input.ReadInt64(); break;
                    case 5: ReadSummary(input.ReadBytes(), found); break;
                    default: input.SkipLastField(); break;
                }
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"{path} holds a record that is not a TensorBoard event ({e.Message})");
        }
        return found.Select(f => new ScalarEvent(f.Tag, step, f.Value, wall)).ToList();
    }

    private static void ReadSummary(ByteString summary, List<(string, float)> found)
    {
        var input = summary.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) != 1) { input.SkipLastField(); continue; }
            var value = input.ReadBytes().CreateCodedInput();
            string? name = null;
            float? simple = null;
            uint vt;
            while ((vt = value.ReadTag()) != 0)
                switch (WireFormat.GetTagFieldNumber(vt))
                {
                    case 1: name = value.ReadString(); break;
                    case 2: simple = value.ReadFloat(); break;
                    default: value.SkipLastField(); break;
                }
            if (name is not null && simple is { } v) found.Add((name, v));
        }
    }
}
