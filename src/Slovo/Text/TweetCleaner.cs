using System.Net;
using System.Text.RegularExpressions;

namespace Slovo.Text;

/// <summary>
/// Tweets made plain for language modelling: HTML entities decoded (&amp;quot; → "), URLs (http…, https…, www.…) and
/// @mentions removed, lower-cased, runs of whitespace collapsed to one space, trimmed. Emoticons, hashtags and
/// punctuation stay: they are part of how tweets are written.
/// </summary>
public static partial class TweetCleaner
{
    [GeneratedRegex(@"(?:https?://|www\.)\S+", RegexOptions.IgnoreCase)]
    private static partial Regex Urls();

    [GeneratedRegex(@"@\w+")]
    private static partial Regex Mentions();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    /// <summary>The cleaned tweet (possibly empty).</summary>
    public static string Clean(string tweet)
    {
        ArgumentNullException.ThrowIfNull(tweet);
        string t = WebUtility.HtmlDecode(tweet);
        t = Urls().Replace(t, " ");
        t = Mentions().Replace(t, " ");
        return Spaces().Replace(t.ToLowerInvariant(), " ").Trim();
    }
}
