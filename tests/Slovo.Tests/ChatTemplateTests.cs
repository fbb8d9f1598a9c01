using System.Text.Json.Nodes;
using Slovo.Chat;
using Slovo.TestSupport;

namespace Slovo.Tests;

/// <summary>
/// Real chat templates (tests/golden/chat-templates, from llama.cpp's models/templates; see PROVENANCE.txt) rendered with
/// six conversations (with and without a system message, multi-turn, with and without the generation prompt, a tool call
/// and its result) must be byte-identical to @huggingface/jinja 0.5.13 (make_golden.mjs), raising where it raises.
/// </summary>
public sealed class ChatTemplateTests
{
    private static readonly string Folder = Path.Combine(TestPaths.RepoRoot, "tests", "golden", "chat-templates");

    public static TheoryData<string> Templates => new(Directory.GetFiles(Folder, "*.jinja").Select(Path.GetFileName).Order(StringComparer.Ordinal)!);

    [Theory]
    [MemberData(nameof(Templates))]
    public void RendersAsHuggingFaceJinja(string file)
    {
        var golden = (JsonArray)JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "golden.json")))!;
        var conversations = ((JsonArray)JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "conversations.json")))!).ToDictionary(c => c!["name"]!.GetValue<string>());
        ChatTemplate template = ChatTemplate.Parse(File.ReadAllText(Path.Combine(Folder, file)));
        int checkedCases = 0;
        foreach (JsonNode? entry in golden.Where(g => g!["template"]!.GetValue<string>() == file))
        {
            string name = entry!["conversation"]!.GetValue<string>();
            JsonNode c = conversations[name]!;
            var context = new JsonObject
            {
                ["messages"] = c["messages"]!.DeepClone(), ["add_generation_prompt"] = c["add_generation_prompt"]!.DeepClone(),
                ["bos_token"] = "<s>", ["eos_token"] = "</s>", ["date_string"] = "05 Dec 2026",
            };
            if (c["tools"] is JsonNode tools) context["tools"] = tools.DeepClone();
            if (entry["error"] is JsonNode error)
            {
                Exception e = Assert.ThrowsAny<Exception>(() => template.Render(context));
                Assert.True(e is TemplateRaisedException or TemplateException, $"{file} / {name}: {e.GetType().Name}: {e.Message}");
                Assert.Contains(error.GetValue<string>(), e.Message);
            }
            else
            {
                string want = entry["text"]!.GetValue<string>(), got = template.Render(context);
                if (want != got)
                {
                    int at = want.Zip(got).TakeWhile(p => p.First == p.Second).Count();
                    Assert.Fail($"{file} / {name}: differs at {at}:\nwant …{Esc(want, at)}…\ngot  …{Esc(got, at)}…");
                }
            }
            ++checkedCases;
        }
        Assert.Equal(6, checkedCases);
    }

    private static string Esc(string s, int at) => s.Substring(Math.Max(0, at - 40), Math.Min(s.Length, at + 40) - Math.Max(0, at - 40)).Replace("\n", "\\n");

    [Fact]
    public void AConstructItLacksIsAnErrorNamingTheLine()
    {
        var e = Assert.Throws<TemplateException>(() => ChatTemplate.Parse("{{ bos_token }}\n{% for m in messages %}\n{% include 'x.jinja' %}{% endfor %}"));
        Assert.Contains("line 3", e.Message);
        Assert.Contains("include", e.Message);
        var f = Assert.Throws<TemplateException>(() => ChatTemplate.Parse("a\n\n{{ messages | shuffle }}").Render(new JsonObject { ["messages"] = new JsonArray() }));
        Assert.Contains("line 3", f.Message);
        Assert.Contains("shuffle", f.Message);
    }

    [Fact]
    public void StrftimeNowFormatsTheClockAsPythonDoes()
    {
        string text = ChatTemplate.Parse("{{ strftime_now('%d %b %Y, %A %H:%M') }}").Render(new JsonObject(), () => new DateTime(2026, 12, 5, 9, 7, 0));
        Assert.Equal("05 Dec 2026, Saturday 09:07", text);
    }
}
