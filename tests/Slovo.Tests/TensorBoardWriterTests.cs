using Google.Protobuf;
using Slovo.Training;

namespace Slovo.Tests;

public class TensorBoardWriterTests
{
    [Fact]
    public void Crc32CMatchesTheStandardCheckValue() =>
        Assert.Equal(0xE3069283u, TensorBoardWriter.Crc32C("123456789"u8));

    [Fact]
    public void EventsDecodeWithAnIndependentProtobufReader()
    {
        string dir = Directory.CreateTempSubdirectory("slovo-tb").FullName;
        string path;
        using (var tb = new TensorBoardWriter(dir))
        {
            tb.Scalar("train/loss", 2.5, 10);
            tb.Scalar("valid/perplexity", 123.25, 20);
            path = tb.Path;
        }
        Assert.StartsWith("events.out.tfevents.", Path.GetFileName(path));
        byte[] file = File.ReadAllBytes(path);
        var events = new List<byte[]>();
        for (int at = 0; at < file.Length;)
        {
            ulong length = BitConverter.ToUInt64(file, at);
            Assert.Equal(TensorBoardWriter.MaskedCrc(file.AsSpan(at, 8)), BitConverter.ToUInt32(file, at + 8));
            byte[] data = file[(at + 12)..(at + 12 + (int)length)];
            Assert.Equal(TensorBoardWriter.MaskedCrc(data), BitConverter.ToUInt32(file, at + 12 + (int)length));
            events.Add(data);
            at += 12 + (int)length + 4;
        }
        Assert.Equal(3, events.Count);
        Assert.Equal("brain.Event:2", ReadEvent(events[0]).FileVersion);
        var first = ReadEvent(events[1]);
        Assert.Equal((10L, "train/loss", 2.5f), (first.Step, first.Tag, first.Value));
        var second = ReadEvent(events[2]);
        Assert.Equal((20L, "valid/perplexity", 123.25f), (second.Step, second.Tag, second.Value));
        Assert.True(first.WallTime > 1.7e9);
    }

    private static (double WallTime, long Step, string? FileVersion, string? Tag, float Value) ReadEvent(byte[] data)
    {
        var input = new CodedInputStream(data);
        (double wall, long step, string? version, string? tag, float value) = (0, 0, null, null, 0);
        uint t;
        while ((t = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(t))
            {
                case 1: wall = input.ReadDouble(); break;
                case 2: step = input.ReadInt64(); break;
                case 3: version = input.ReadString(); break;
                case 5:
                    var summary = new CodedInputStream(input.ReadBytes().ToByteArray());
                    while (summary.ReadTag() is var st && st != 0)
                    {
                        var v = new CodedInputStream(summary.ReadBytes().ToByteArray());
                        while (v.ReadTag() is var vt && vt != 0)
                        {
                            if (WireFormat.GetTagFieldNumber(vt) == 1) tag = v.ReadString();
                            else if (WireFormat.GetTagFieldNumber(vt) == 2) value = v.ReadFloat();
                            else v.SkipLastField();
                        }
                    }
                    break;
                default: input.SkipLastField(); break;
            }
        }
        return (wall, step, version, tag, value);
    }
}
