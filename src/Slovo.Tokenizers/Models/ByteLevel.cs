namespace Slovo.Tokenizers.Models;

/// <summary>
/// GPT-2's reversible map from the 256 byte values to printable characters: printable Latin-1 bytes map to
/// themselves, the rest to U+0100 onwards in byte order. Byte-level BPE vocabularies are written in these characters.
/// </summary>
public static class ByteLevel
{
    private static readonly char[] ByteToChar = Build();
    private static readonly Dictionary<char, byte> CharToByte = Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    private static char[] Build()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; ++b)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    /// <summary>The character standing for byte <paramref name="b"/>.</summary>
    public static char Char(byte b) => ByteToChar[b];

    /// <summary>The byte a mapped character stands for; false for characters outside the map.</summary>
    public static bool TryByte(char c, out byte b) => CharToByte.TryGetValue(c, out b);
}
