using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Slovo.Torch.Serialization;

namespace Slovo.Torch.Tests;

/// <summary>
/// GGUF's reader and writer on their own: values round-trip, and hostile files (truncated, counts larger than the file,
/// offsets past the end, unknown types, sizes near 2^62, huge strings) get one-line errors without large allocations.
/// </summary>
public sealed class GgufTests
{
    private static string Temp() => Path.Combine(Path.GetTempPath(), $"slovo-gguf-{Guid.NewGuid():N}.gguf");

    [Fact]
    public void MetadataAndTensorsRoundTrip()
    {
        string path = Temp();
        try
        {
            using Tensor a = Tensor.From([1f, -2f, 3.5f, 4f, 5f, 6f], 2, 3);
            using Tensor q = Tensor.Arange(0, 64, 1, ScalarType.Float32).Sub(32).Div(8).View(2, 32);
            GgufFile.Write(path,
            [
                new("general.architecture", "llama"), new("n", 7u), new("i", -3), new("f", 0.5f), new("d", 2.25), new("b", true), new("l", -9L),
                new("u64", 9UL), new("names", new[] { "a", "bé", "" }), new("ints", new[] { 1, 2, 3 }), new("floats", new[] { 0.5f, 1.5f }),
            ],
            [("a", a, GgmlType.F32), ("h", a, GgmlType.F16), ("bf", a, GgmlType.BF16), ("q", q, GgmlType.Q8_0)]);
            GgufFile f = GgufFile.Read(path);
            Assert.Equal(3, f.Version);
            Assert.Equal("llama", f.GetString("general.architecture"));
            Assert.Equal(7, f.GetInteger("n"));
            Assert.Equal(-3, f.GetInteger("i"));
            Assert.Equal(0.5, f.GetFloat("f"));
            Assert.Equal(2.25, f.GetFloat("d"));
            Assert.True(f.GetBool("b"));
            Assert.Equal(-9, f.GetInteger("l"));
            Assert.Equal(9, f.GetInteger("u64"));
            Assert.Equal(["a", "bé", ""], f.GetArray<string>("names")!);
            Assert.Equal([1, 2, 3], f.GetArray<int>("ints")!);
            Assert.Equal([0.5f, 1.5f], f.GetArray<float>("floats")!);
            Assert.Equal([2L, 3L], f.Find("a")!.Shape);
            foreach (string name in new[] { "a", "h", "bf" })
            {
                using Tensor back = f.Load(f.Find(name)!);
                Assert.True(back.Equal(a), name);
            }
            using Tensor q8 = f.Load(f.Find("q")!);
            Assert.True(q8.Sub(q).Abs().Max().ToDouble() <= 4.0 / 127 / 2 + 1e-6); // half a step of the block's scale
            // Version 2 has version 3's layout (v3 added big-endian files, which are refused): the same bytes read as v2.
            byte[] bytes = File.ReadAllBytes(path);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), 2);
            File.WriteAllBytes(path, bytes);
            GgufFile v2 = GgufFile.Read(path);
            Assert.Equal(2, v2.Version);
            using Tensor again = v2.Load(v2.Find("a")!);
            Assert.True(again.Equal(a));
        }
        finally { File.Delete(path); }
    }

    // A valid header: magic, version 3, the given counts, then the rest.
    private static byte[] Header(ulong tensors, ulong kvs, params byte[][] rest)
    {
        var bytes = new List<byte>("GGUF"u8.ToArray());
        bytes.AddRange(BitConverter.GetBytes(3u));
        bytes.AddRange(BitConverter.GetBytes(tensors));
        bytes.AddRange(BitConverter.GetBytes(kvs));
        foreach (byte[] r in rest) bytes.AddRange(r);
        return bytes.ToArray();
    }

    private static byte[] Str(string s) => [.. BitConverter.GetBytes((ulong)Encoding.UTF8.GetByteCount(s)), .. Encoding.UTF8.GetBytes(s)];

    private static byte[] U32(uint v) => BitConverter.GetBytes(v);

    private static byte[] U64(ulong v) => BitConverter.GetBytes(v);

    // One tensor description: name, dims, type, offset.
    private static byte[] Info(string name, ulong[] dims, uint type, ulong offset) =>
        [.. Str(name), .. U32((uint)dims.Length), .. dims.SelectMany(d => U64(d)), .. U32(type), .. U64(offset)];

    public static TheoryData<string, string> Hostile => new()
    {
        { "empty", "fewer than a header" },
        { "magic", "not a GGUF file" },
        { "version", "version 9 is not supported" },
        { "tensor-count", "tensor count" },
        { "kv-count", "metadata count" },
        { "huge-string", "claims" },
        { "huge-array", "length of 'arr'" },
        { "truncated-value", "truncated" },
        { "bad-value-type", "value type 99" },
        { "unknown-tensor-type", "ggml type 99" },
        { "offset-past-end", "runs past the end" },
        { "size-2^62", "too large" },
        { "many-dims", "5 dimensions" },
        { "bad-block", "not a multiple" },
    };

    private static byte[] Build(string kind) => kind switch
    {
        "empty" => [],
        "magic" => [.. "GGUX"u8.ToArray(), .. new byte[40]],
        "version" => [.. "GGUF"u8.ToArray(), .. U32(9), .. new byte[40]],
        "tensor-count" => Header(1UL << 60, 0, new byte[16]),
        "kv-count" => Header(0, 1UL << 60, new byte[16]),
        "huge-string" => Header(0, 1, U64(1UL << 61), new byte[16]),
        "huge-array" => Header(0, 1, Str("arr"), U32(9), U32(8), U64(1UL << 40), new byte[16]),
        "truncated-value" => Header(0, 1, Str("k"), U32(10), new byte[3]),
        "bad-value-type" => Header(0, 1, Str("k"), U32(99), new byte[16]),
        "unknown-tensor-type" => Header(1, 0, Info("t", [4], 99, 0), new byte[64]),
        "offset-past-end" => Header(1, 0, Info("t", [4], 0, 1UL << 40), new byte[64]),
        "size-2^62" => Header(1, 0, Info("t", [1UL << 31, 1UL << 31], 0, 0), new byte[64]),
        "many-dims" => Header(1, 0, Info("t", [1, 1, 1, 1, 1], 0, 0), new byte[64]),
        "bad-block" => Header(1, 0, Info("t", [33], 8, 0), new byte[64]),
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public void HostileFilesGetOneLineErrorsWithMemoryBounded(string kind, string expected)
    {
        string path = Temp();
        try
        {
            File.WriteAllBytes(path, Build(kind));
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.Throws<GgufFormatException>(() => GgufFile.Read(path));
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Contains(expected, e.Message);
            Assert.Contains(path, e.Message);
            Assert.DoesNotContain('\n', e.Message);
            Assert.True(allocated < 1 << 20, $"{kind}: {allocated} bytes allocated reading a {new FileInfo(path).Length}-byte file");
        }
        finally { File.Delete(path); }
    }
}
