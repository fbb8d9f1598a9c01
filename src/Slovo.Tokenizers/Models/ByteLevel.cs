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

    /// <summary>
    /// Maps <paramref name="text"/>'s UTF-8 bytes to byte-level characters; <paramref name="source"/>[j] is the index in
    /// <paramref name="text"/> of the character whose byte mapped character j stands for. Lone surrogates become U+FFFD.
    /// </summary>
    public static string Map(ReadOnlySpan<char> text, out int[] source)
    {
        var chars = new List<char>(text.Length);
        var src = new List<int>(text.Length);
        Span<byte> buf = stackalloc byte[4];
        for (int i = 0; i < text.Length;)
        {
            int w = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            int n = System.Text.Encoding.UTF8.GetBytes(text.Slice(i, w), buf);
            for (int k = 0; k < n; ++k)
            {
                chars.Add(ByteToChar[buf[k]]);
                src.Add(i);
            }
            i += w;
        }
        source = src.ToArray();
        return new string(chars.ToArray());
    }

    /// <summary>Maps bytes to byte-level characters into <paramref name="destination"/> (same length).</summary>
    public static void Map(ReadOnlySpan<byte> bytes, Span<char> destination)
    {
        for (int k = 0; k < bytes.Length; ++k) destination[k] = ByteToChar[bytes[k]];
    }

    /// <summary>The byte a mapped character stands for; false for characters outside the map.</summary>
    public static bool TryByte(char c, out byte b) => CharToByte.TryGetValue(c, out b);
}
