using Slovo.Tokenizers.PreTokenizers;

namespace Slovo.Tokenizers.Tests;

public class WordPreTokenizerTests
{
    private static string[] Split(string text)
    {
        var pieces = new List<(int Start, int Length)>();
        new WordPreTokenizer().Split(text, pieces);
        return pieces.Select(p => text.Substring(p.Start, p.Length)).ToArray();
    }

    [Theory]
    [InlineData("Кто-то сказал: «Нью-Йорк — это 5-й город»...", "Кто-то|сказал|:|«|Нью-Йорк|—|это|5-й|город|»|...")]
    [InlineData("Цена 3,14 руб., а доля 1/2!?", "Цена|3,14|руб|.|,|а|доля|1/2|!?")]
    [InlineData("O'Brien said: don't stop -- it's 10:30.", "O'Brien|said|:|don't|stop|--|it's|10:30|.")]
    [InlineData("Я помню чудное мгновенье:", "Я|помню|чудное|мгновенье|:")]
    [InlineData("snake_case and e-mail, (brackets) [x]", "snake_case|and|e-mail|,|(|brackets|)|[|x|]")]
    [InlineData("Ёлка  и\tёж\nрядом", "Ёлка|и|ёж|рядом")]
    [InlineData("- дефис в начале и конце -", "-|дефис|в|начале|и|конце|-")]
    public void SplitsLikeRazdel(string text, string expected) => Assert.Equal(expected.Split('|'), Split(text));

    [Fact]
    public void PiecesCoverEveryNonSpaceCharacterInOrder()
    {
        var rng = new Random(61);
        for (int trial = 0; trial < 300; ++trial)
        {
            string text = PropertyTests.RandomText(rng, loneSurrogates: true);
            var pieces = new List<(int Start, int Length)>();
            new WordPreTokenizer().Split(text, pieces);
            int at = 0;
            foreach ((int s, int l) in pieces)
            {
                Assert.True(s >= at && l > 0);
                Assert.True(text[at..s].All(char.IsWhiteSpace), "only whitespace may fall between pieces");
                at = s + l;
            }
            Assert.True(text[at..].All(char.IsWhiteSpace));
        }
    }
}
