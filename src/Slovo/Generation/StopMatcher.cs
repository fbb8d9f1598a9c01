namespace Slovo.Generation;

/// <summary>
/// The one place stop strings are looked for, by the sampler (and so by the server, whose sequences it samples): fed a
/// text stream piece by piece, it says where the first stop string starts and how much of the stream's end could still
/// grow into one (to be held back from a reader). It keeps only the stream's last characters, so a piece costs O(its length).
/// </summary>
public sealed class StopMatcher
{
    private readonly string[] _stops;
    private readonly int _longest;
    private string _tail = ""; // the stream's last (longest - 1) characters

    /// <summary>A matcher of <paramref name="stops"/> (empty strings are ignored).</summary>
    public StopMatcher(IEnumerable<string> stops)
    {
        ArgumentNullException.ThrowIfNull(stops);
        _stops = stops.Where(s => s.Length > 0).Distinct().ToArray();
        _longest = _stops.Length == 0 ? 0 : _stops.Max(s => s.Length);
    }

    /// <summary>Whether there is any stop string.</summary>
    public bool Any => _stops.Length > 0;

    /// <summary>Characters fed so far.</summary>
    public long Length { get; private set; }

    /// <summary>
    /// Feeds the next piece of the stream; returns the stream position where the first stop string starts (it may start in an
    /// earlier piece and end in this one), or -1.
    /// </summary>
    public long Feed(string piece)
    {
        ArgumentNullException.ThrowIfNull(piece);
        if (_stops.Length == 0 || piece.Length == 0)
        {
            Length += piece.Length;
            return -1;
        }
        string window = _tail + piece;
        long windowStart = Length - _tail.Length;
        Length += piece.Length;
        _tail = window.Length < _longest ? window : window[^(_longest - 1)..];
        int at = FindIn(window);
        return at < 0 ? -1 : windowStart + at;
    }

    /// <summary>How many characters at the stream's end are the start of a stop string (a reader should not see them yet).</summary>
    public int HeldBack
    {
        get
        {
            int hold = 0;
            foreach (string s in _stops)
                for (int k = Math.Min(s.Length - 1, _tail.Length); k > hold; --k)
                    if (string.CompareOrdinal(_tail, _tail.Length - k, s, 0, k) == 0) { hold = k; break; }
            return hold;
        }
    }

    /// <summary>Where the first stop string starts in <paramref name="text"/>, or -1, searching all of it (a text that is not a
    /// stream, such as one beam's).</summary>
    public int FindIn(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int first = -1;
        foreach (string s in _stops)
        {
            int at = text.IndexOf(s, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first)) first = at;
        }
        return first;
    }
}
