using System.Text;

namespace Slovo.Training;

/// <summary>
/// Writes TensorBoard event files: TFRecord framing (length, masked CRC32C, data, masked CRC32C) around protobuf
/// <c>Event</c> messages (wall_time = 1, step = 2, file_version = 3, summary = 5; Summary.value = 1 with
/// Value.tag = 1 and Value.simple_value = 2). Each scalar is flushed at once, so a killed run keeps what it logged.
/// </summary>
public sealed class TensorBoardWriter : IDisposable
{
    private readonly FileStream _file;

    /// <summary>The event file.</summary>
    public string Path { get; }

    /// <summary>Creates a new <c>events.out.tfevents.&lt;time&gt;.slovo.&lt;pid&gt;.&lt;random&gt;</c> file in <paramref name="directory"/>.</summary>
    public TensorBoardWriter(string directory)
    {
        Directory.CreateDirectory(directory);
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Path = System.IO.Path.Combine(directory, $"events.out.tfevents.{now}.slovo.{Environment.ProcessId}.{Guid.NewGuid().ToString("N")[..8]}");
        _file = new FileStream(Path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        var e = new ProtoWriter();
        e.Double(1, WallTime());
        e.String(3, "brain.Event:2");
        WriteRecord(e.ToArray());
    }

    private static double WallTime() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    /// <summary>Logs one scalar (e.g. "train/loss") at <paramref name="step"/>.</summary>
    public void Scalar(string tag, double value, long step)
    {
        var v = new ProtoWriter();
        v.String(1, tag);
        v.Float(2, (float)value);
        var summary = new ProtoWriter();
        summary.Message(1, v.ToArray());
        var e = new ProtoWriter();
        e.Double(1, WallTime());
        e.Varint(2, (ulong)step);
        e.Message(5, summary.ToArray());
        WriteRecord(e.ToArray());
    }

    private void WriteRecord(byte[] data)
    {
        byte[] length = BitConverter.GetBytes((ulong)data.Length);
        _file.Write(length);
        _file.Write(BitConverter.GetBytes(MaskedCrc(length)));
        _file.Write(data);
        _file.Write(BitConverter.GetBytes(MaskedCrc(data)));
        _file.Flush(flushToDisk: false);
    }

    /// <summary>TFRecord's masked CRC: rotate right by 15 and add 0xa282ead8.</summary>
    internal static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint crc = Crc32C(data);
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    }

    private static readonly uint[] Table = BuildTable();

    private static uint[] BuildTable()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; ++i)
        {
            uint c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1; // Castagnoli, reflected
            t[i] = c;
        }
        return t;
    }

    /// <summary>CRC-32C (Castagnoli).</summary>
    internal static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _file.Dispose();

    /// <summary>The few protobuf wire-format pieces an Event needs.</summary>
    private sealed class ProtoWriter
    {
        private readonly List<byte> _bytes = new();

        private void Raw(ulong v)
        {
            while (v >= 0x80) { _bytes.Add((byte)(v | 0x80)); v >>= 7; }
            _bytes.Add((byte)v);
        }

        public void Varint(int field, ulong value) { Raw((ulong)(field << 3)); Raw(value); }

        public void Double(int field, double value) { Raw((ulong)((field << 3) | 1)); _bytes.AddRange(BitConverter.GetBytes(value)); }

        public void Float(int field, float value) { Raw((ulong)((field << 3) | 5)); _bytes.AddRange(BitConverter.GetBytes(value)); }

        public void Bytes(int field, byte[] value) { Raw((ulong)((field << 3) | 2)); Raw((ulong)value.Length); _bytes.AddRange(value); }

        public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        public void Message(int field, byte[] message) => Bytes(field, message);

        public byte[] ToArray() => _bytes.ToArray();
    }
}
