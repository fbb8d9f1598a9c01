using Microsoft.Playwright;

namespace Slovo.Serving.Tests;

/// <summary>The playground page in a real browser: Debian's chromium driven by Playwright, against the loopback server.</summary>
public sealed class PlaygroundBrowserTests(LoopbackFixture server) : IClassFixture<LoopbackFixture>
{
    /// <summary>Debian's chromium (Playwright's own download cannot reach the network here); SLOVO_CHROMIUM overrides it.</summary>
    private static string Chromium => Environment.GetEnvironmentVariable("SLOVO_CHROMIUM") ?? "/usr/bin/chromium";

    private static async Task<(IPlaywright, IBrowser)> Launch()
    {
        if (!File.Exists(Chromium)) throw new InvalidOperationException($"no browser at {Chromium}: install Debian's chromium (scripts/test does) or set SLOVO_CHROMIUM");
        IPlaywright playwright = await Playwright.CreateAsync();
        IBrowser browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // No sandbox as root; no background connections, which this machine's closed network refuses.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        return (playwright, browser);
    }

    // The playground in a phone-sized window, once it has listed the server's models.
    private async Task<IPage> PhonePage(IBrowser browser)
    {
        IPage page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 390, Height = 844 } });
        await page.GotoAsync(server.Address.ToString());
        await Assertions.Expect(page.Locator("#models")).ToContainTextAsync("tiny-gpt");
        return page;
    }

    [Fact]
    public async Task Typing_a_prompt_streams_tokens_into_the_page_using_the_keyboard_only()
    {
        (IPlaywright playwright, IBrowser browser) = await Launch();
        using (playwright)
        await using (browser)
        {
            IPage page = await PhonePage(browser);

            // A tiny model writes 30 tokens in milliseconds, faster than the network hands them over, so the browser's own
            // network throttling (DevTools protocol) slows the download to ~1 KB/s: the ~30 events (~6 KB) then arrive over several
            // seconds (the throttle hands data over about once a second), and the page must show them as they come.
            ICDPSession devtools = await page.Context.NewCDPSessionAsync(page);
            await devtools.SendAsync("Network.enable");
            await devtools.SendAsync("Network.emulateNetworkConditions", new Dictionary<string, object>
            {
                ["offline"] = false, ["latency"] = 0, ["downloadThroughput"] = 1000, ["uploadThroughput"] = -1,
            });
            // Record what the page shows each time the output changes: streamed text is seen part-written while the status
            // still says it is generating, not only whole at the end.
            await page.EvaluateAsync("""
                window.seen = [];
                new MutationObserver(() => {
                    const c = document.getElementById('completion');
                    if (c) window.seen.push([c.textContent.length, document.getElementById('generate-status').textContent]);
                }).observe(document.getElementById('output'), { subtree: true, characterData: true, childList: true });
            """);
            await page.Locator("#prompt").FillAsync("we propose");
            await page.Locator("#max_tokens").FillAsync("30");
            await page.Locator("#temperature").FillAsync("0");
            await page.Locator("#prompt").FocusAsync();
            await page.Keyboard.PressAsync("Control+Enter");
            await Assertions.Expect(page.Locator("#generate-status")).ToContainTextAsync("done", new() { Timeout = 30_000 });

            var lm = server.Models.Generator!;
            string expected = lm.Decode(lm.Generate(lm.EncodePrompt("we propose"), new Slovo.Generation.GenerationOptions
            {
                MaxTokens = 30, Greedy = true, Temperature = 0, EosToken = lm.Vocabulary.EosId,
            }).Tokens);
            Assert.Equal(expected, await page.Locator("#completion").TextContentAsync());
            var seen = await page.EvaluateAsync<System.Text.Json.JsonElement>("window.seen");
            bool partial = seen.EnumerateArray().Any(r => r[0].GetInt32() > 0 && r[0].GetInt32() < expected.Length && r[1].GetString()!.StartsWith("generating", StringComparison.Ordinal));
            Assert.True(partial, $"the page never showed part of the text while generating ({seen}): the text was not streamed");

            // The tabs work from the keyboard: from the Generate tab, ArrowRight opens Chat, and again Tokens.
            await page.Locator("#tab-generate").FocusAsync();
            await page.Keyboard.PressAsync("ArrowRight");
            await Assertions.Expect(page.Locator("#panel-chat")).ToBeVisibleAsync();
            await page.Keyboard.PressAsync("ArrowRight");
            await Assertions.Expect(page.Locator("#panel-tokens")).ToBeVisibleAsync();
            await page.Locator("#token-text").FillAsync("we Я");
            await page.Locator("#tokens-form button").PressAsync("Enter");
            await Assertions.Expect(page.Locator("#tokens span")).ToHaveCountAsync(4);

            string shots = Path.Combine(AppContext.BaseDirectory, "screenshots");
            Directory.CreateDirectory(shots);
            await page.Locator("#tab-generate").ClickAsync();
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "playground-phone.png"), FullPage = true });
            Assert.True(new FileInfo(Path.Combine(shots, "playground-phone.png")).Length > 10_000);
        }
    }

    [Fact]
    public async Task Similarity_and_classify_tabs_show_when_those_models_are_loaded()
    {
        (IPlaywright playwright, IBrowser browser) = await Launch();
        using (playwright)
        await using (browser)
        {
            IPage page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 900 } });
            await page.GotoAsync(server.Address.ToString());
            await Assertions.Expect(page.Locator("#tab-embed")).ToBeVisibleAsync();
            await page.Locator("#tab-embed").ClickAsync();
            await page.Locator("#embed-form button").ClickAsync();
            await Assertions.Expect(page.Locator("#embed-table tbody tr")).ToHaveCountAsync(3);
            await page.Locator("#tab-classify").ClickAsync();
            await page.Locator("#classify-form button").ClickAsync();
            await Assertions.Expect(page.Locator("#classify-table tbody tr")).ToHaveCountAsync(2);
            string shots = Path.Combine(AppContext.BaseDirectory, "screenshots");
            Directory.CreateDirectory(shots);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "playground-classify.png") });
        }
    }

    [Fact]
    public async Task The_chat_tab_keeps_a_conversation_streams_replies_and_starts_over()
    {
        (IPlaywright playwright, IBrowser browser) = await Launch();
        using (playwright)
        await using (browser)
        {
            IPage page = await PhonePage(browser);
            await page.Locator("#tab-chat").ClickAsync();
            await Assertions.Expect(page.Locator("#panel-chat")).ToBeVisibleAsync();
            await page.Locator("#system").FillAsync("we");
            await page.Locator("#chat_max_tokens").FillAsync("12");
            await page.Locator("#chat_temperature").FillAsync("0");
            // What the server's model says greedily to the conversation laid out plainly (the served GPT has no template).
            var lm = server.Models.Generator!;
            string Reply(List<Slovo.Chat.ChatMessage> conversation)
            {
                (string prompt, _) = ChatPrompt.Render(conversation, ChatLayout.Plain);
                return lm.Decode(lm.Generate(lm.EncodePrompt(prompt), new Slovo.Generation.GenerationOptions
                {
                    MaxTokens = 12, Greedy = true, Temperature = 0, EosToken = lm.Vocabulary.EosId,
                }).Tokens);
            }
            var conversation = new List<Slovo.Chat.ChatMessage> { new("system", "we"), new("user", "propose") };
            await page.Locator("#chat-text").FillAsync("propose");
            await page.Locator("#chat-text").PressAsync("Enter");                          // Enter sends
            await Assertions.Expect(page.Locator("#chat-status")).ToContainTextAsync("done", new() { Timeout = 30_000 });
            string first = Reply(conversation);
            await Assertions.Expect(page.Locator(".message.assistant").Nth(0)).ToHaveTextAsync(first);
            conversation.Add(new("assistant", first));
            conversation.Add(new("user", "the results"));
            await page.Locator("#chat-text").FillAsync("the results");
            await page.Locator("#send").ClickAsync();
            await Assertions.Expect(page.Locator(".message")).ToHaveCountAsync(4, new() { Timeout = 30_000 });
            await Assertions.Expect(page.Locator("#chat-status")).ToContainTextAsync("done", new() { Timeout = 30_000 });
            await Assertions.Expect(page.Locator(".message.assistant").Nth(1)).ToHaveTextAsync(Reply(conversation));
            string shots = Path.Combine(AppContext.BaseDirectory, "screenshots");
            Directory.CreateDirectory(shots);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "playground-chat.png") });
            await page.Locator("#chat-new").ClickAsync();
            await Assertions.Expect(page.Locator(".message")).ToHaveCountAsync(0);
        }
    }
}
