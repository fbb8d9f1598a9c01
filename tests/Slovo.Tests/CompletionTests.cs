using Slovo.LanguageModels;
using Slovo.Text;

namespace Slovo.Tests;

public class CompletionTests
{
    [Fact]
    public void TextsAreCutAtAShareOfTheirCharactersNeverEmptyOnEitherSide()
    {
        Assert.Equal(("my whole body feels itc", "hy and like its on fire"), Completion.Cut("my whole body feels itchy and like its on fire", 0.5));
        Assert.Equal(("a", "b"), Completion.Cut("ab", 0.75));
        Assert.Equal(("a", "bc"), Completion.Cut("abc", 0.1));
        Assert.Equal(("ab", "c"), Completion.Cut("abc", 0.99));
        // 0.5 of "a😀b" (4 chars) would split the emoji's surrogate pair: the cut moves before it.
        Assert.Equal(("a", "😀b"), Completion.Cut("a😀b", 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => Completion.Cut("abc", 1));
        Assert.Throws<ArgumentException>(() => Completion.Cut("a", 0.5));
    }

    [Fact]
    public void TweetsAreCleanedOfEntitiesUrlsAndMentions()
    {
        Assert.Equal("awww, that's a bummer. you shoulda got david carr of third day to do it. ;d",
                     TweetCleaner.Clean("@switchfoot http://twitpic.com/2y1zl - Awww, that's a bummer.  You shoulda got David Carr of Third Day to do it. ;D")[2..]);
        Assert.Equal("i said \"hi\" & left #bye", TweetCleaner.Clean("I said &quot;hi&quot; &amp; left  www.example.com/x #bye @Someone"));
        Assert.Equal("", TweetCleaner.Clean("@a @b https://t.co/x"));
    }
}
