using System.Text;
using Slovo.Torch.Serialization;

namespace Slovo.Torch.Tests;

public class SafeTensorsTests
{
    private static string TempDir() => Directory.CreateTempSubdirectory("slovo-st").FullName;

    [Fact]
    public void ReadsTheShippedGpt2Checkpoint()
    {
        string path = Path.Combine(Golden.SharedDir, "models", "tiny-random-gpt2", "model.safetensors");
        (Dictionary<string, Tensor> tensors, Dictionary<string, string> meta) = SafeTensors.LoadWithMetadata(path);
        try
        {
            Assert.Equal(64, tensors.Count);
            Assert.Equal("pt", meta["format"]);
            Assert.Equal(new long[] { 32, 96 }, tensors["transformer.h.0.attn.c_attn.weight"].Shape);
            // First values of wte as numpy reads them from the same file (independent reader).
            float[] wte = tensors["transformer.wte.weight"].ToArray<float>();
            Assert.InRange(wte[0], -0.02064314f - 1e-7f, -0.02064314f + 1e-7f);
            Assert.InRange(wte[1], 0.0125005f - 1e-7f, 0.0125005f + 1e-7f);
            Assert.InRange(wte[2], -0.02890361f - 1e-7f, -0.02890361f + 1e-7f);
        }
        finally
        {
            foreach (Tensor t in tensors.Values) t.Dispose();
        }
    }

    [Fact]
    public void RoundTripsEveryDTypeAndMetadata()
    {
        using var scope = DisposeScope.Begin();
        string path = Path.Combine(TempDir(), "x.safetensors");
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = Tensor.RandN(3, 4),
            ["f64"] = Tensor.RandN([2], ScalarType.Float64),
            ["i64"] = Tensor.Arange(5),
            ["i32"] = Tensor.Arange(0, 7, 1, ScalarType.Int32),
            ["u8"] = Tensor.Arange(0, 3, 1, ScalarType.Byte),
            ["bool"] = Tensor.From(new[] { true, false, true }),
            ["f16"] = Tensor.RandN(4).To(ScalarType.Float16),
            ["empty"] = Tensor.Zeros(0, 3),
            ["scalar"] = Tensor.Scalar(2.5),
        };
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["note"] = "hello" });
        (Dictionary<string, Tensor> back, Dictionary<string, string> meta) = SafeTensors.LoadWithMetadata(path);
        Assert.Equal("hello", meta["note"]);
        Assert.Equal(tensors.Keys.Order(), back.Keys.Order());
        foreach ((string k, Tensor t) in tensors)
        {
            Assert.Equal(t.DType, back[k].DType);
            Assert.Equal(t.Shape, back[k].Shape);
            Assert.True(t.Equal(back[k]), k);
            back[k].Dispose();
        }
        // Header is padded to 8 bytes, as the format asks.
        byte[] raw = File.ReadAllBytes(path);
        Assert.Equal(0UL, BitConverter.ToUInt64(raw, 0) % 8);
    }

    private static string WriteRaw(byte[] content)
    {
        string path = Path.Combine(TempDir(), "bad.safetensors");
        File.WriteAllBytes(path, content);
        return path;
    }

    private static byte[] Build(string header, int dataBytes)
    {
        byte[] h = Encoding.UTF8.GetBytes(header);
        return BitConverter.GetBytes((ulong)h.Length).Concat(h).Concat(new byte[dataBytes]).ToArray();
    }

    [Theory]
    [InlineData("truncated", "truncated")]
    [InlineData("huge-header", "exceeds")]
    [InlineData("short", "fewer than the 8-byte")]
    [InlineData("not-json", "not valid JSON")]
    [InlineData("bad-dtype", "unsupported dtype 'Q9'")]
    [InlineData("shape-mismatch", "needs 16 bytes but its offsets span 12")]
    [InlineData("out-of-bounds", "outside the 16-byte data buffer")]
    [InlineData("overlap", "overlap or gap")]
    [InlineData("negative-dim", "invalid dimension")]
    public void CorruptFilesGetClearErrors(string kind, string expected)
    {
        string good = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";
        byte[] content = kind switch
        {
            "truncated" => Build(good, 16)[..^5],
            "huge-header" => BitConverter.GetBytes(ulong.MaxValue - 3).Concat(new byte[32]).ToArray(),
            "short" => new byte[5],
            "not-json" => Build("{\"a\": [1, 2", 0),
            "bad-dtype" => Build(good.Replace("F32", "Q9"), 16),
            "shape-mismatch" => Build(good.Replace("[0,16]", "[0,12]"), 12),
            "out-of-bounds" => Build(good.Replace("[0,16]", "[1000,1016]"), 16),
            "overlap" => Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12),
            "negative-dim" => Build(good.Replace("[2,2]", "[-2,2]"), 16),
            _ => throw new ArgumentException(kind),
        };
        string path = WriteRaw(content);
        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Load(path));
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void MissingFileNamesThePath()
    {
        var e = Assert.Throws<FileNotFoundException>(() => SafeTensors.Load("/nonexistent/model.safetensors"));
        Assert.Contains("/nonexistent/model.safetensors", e.Message);
    }

    [Fact]
    public void AFailedWriteLeavesTheOldFileIntactAndNoTemporaryFiles()
    {
        string dir = TempDir();
        string path = Path.Combine(dir, "ckpt.safetensors");
        using var scope = DisposeScope.Begin();
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.Ones(3) });
        byte[] before = File.ReadAllBytes(path);
        Tensor disposed = Tensor.Ones(2);
        disposed.Dispose();
        Assert.Throws<ObjectDisposedException>(() =>
            SafeTensors.Save(path, new Dictionary<string, Tensor> { ["a"] = Tensor.Ones(2), ["z"] = disposed }));
        Assert.Throws<InvalidOperationException>(() =>
            AtomicFile.Write(path, s => { s.WriteByte(1); throw new InvalidOperationException("killed mid-write"); }));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir));
    }
}
