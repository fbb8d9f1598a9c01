using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Slovo.Chat;
using Slovo.LanguageModels;
using Slovo.Tokenizers;
using Slovo.Tokenizers.Serialization;
using Slovo.Tokenizers.Trainers;
using Slovo.Torch;

namespace Slovo.Serving.Tests;

/// <summary>
/// /v1/chat/completions with a model that carries its own chat template (a tiny Qwen2 folder with Qwen2.5's real template):
/// the conversation is rendered by that template (the prompt's token count says so) and the reply ends at the model's end id.
/// The model's final norm is zero, so every logit ties and greedy decoding picks id 0, which is its end token &lt;|im_end|&gt;.
/// </summary>
public sealed class OpenModelServingTests : IAsyncLifetime
{
    private string _dir = "";
    private WebApplication _app = null!;
    private ServedModels _models = null!;

    public async Task InitializeAsync()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"slovo-qwen-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
        Tokenizer tokenizer = TokenizerTrainer.Train(Enumerable.Repeat("hello there, how are you? I am fine, thanks. What is two and two?", 10),
            new TokenizerTrainingOptions { Model = TokenizerModel.ByteLevelBpe, VocabSize = 300, SpecialTokens = ["<|im_end|>", "<|im_start|>", "<|endoftext|>"] });
        TokenizerJson.Save(tokenizer, Path.Combine(_dir, "tokenizer.json"));
        string template = File.ReadAllText(Path.Combine(TestSupport.TestPaths.RepoRoot, "tests", "golden", "chat-templates", "Qwen-Qwen2.5-7B-Instruct.jinja"));
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), new JsonObject { ["chat_template"] = template, ["add_bos_token"] = false }.ToJsonString());
        var config = new DecoderConfig
        {
            ModelType = "qwen2", VocabSize = tokenizer.VocabSize, Width = 32, Intermediate = 64, Layers = 1, Heads = 2, KvHeads = 1, HeadDim = 16, MaxPositions = 2048,
            QkvBias = true, TieEmbeddings = true, BosTokenId = 2, EosTokenIds = [0, 2],
        };
        using (var model = RandomGenerator.Seeded(3, () => new DecoderModel(config)))
        {
            using (LibTorch.NoGrad()) model.StateDict()["model.norm.weight"].Zero_();
            model.SavePretrained(_dir);
        }
        _models = new ServedModels { Generator = LanguageModel.Load(_dir), GeneratorId = "tiny-qwen" };
        _app = SlovoServer.Create(_models, ServerFixture.Options, b => b.WebHost.UseTestServer());
        await _app.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        _models.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task TheModelsOwnTemplateRendersTheConversationAndItsEndIdEndsTheReply()
    {
        using HttpClient client = _app.GetTestClient();
        string json = """{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"What is two and two?"}],"temperature":0,"max_tokens":20}""";
        using HttpResponseMessage r = await client.PostAsync("/v1/chat/completions", new StringContent(json, Encoding.UTF8, "application/json"));
        string text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, text);
        JsonElement body = JsonDocument.Parse(text).RootElement;
        var chat = new ChatModel(_models.Generator!);
        IReadOnlyList<int> prompt = chat.Encode([new ChatMessage("system", "Be brief."), new ChatMessage("user", "What is two and two?")]);
        Assert.StartsWith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n", chat.Render([new ChatMessage("system", "Be brief."), new ChatMessage("user", "What is two and two?")]));
        Assert.Equal(prompt.Count, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        JsonElement choice = body.GetProperty("choices")[0];
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal("", choice.GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task ToolsAndToolCallsReachTheTemplate()
    {
        using HttpClient client = _app.GetTestClient();
        string json = """
            {"messages":[{"role":"user","content":"Weather in Paris?"},
                         {"role":"assistant","content":null,"tool_calls":[{"id":"call1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}}]},
                         {"role":"tool","tool_call_id":"call1","content":"18 C"}],
             "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
             "temperature":0,"max_tokens":5}
            """;
        using HttpResponseMessage r = await client.PostAsync("/v1/chat/completions", new StringContent(json, Encoding.UTF8, "application/json"));
        string text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, text);
        var chat = new ChatModel(_models.Generator!);
        var tools = (JsonArray)JsonNode.Parse("""[{"type":"function","function":{"name":"get_weather","description":"Weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]""")!;
        var conversation = new List<ChatMessage>
        {
            new("user", "Weather in Paris?"),
            new("assistant", "") { ToolCalls = (JsonArray)JsonNode.Parse("""[{"id":"call1","type":"function","function":{"name":"get_weather","arguments":{"city":"Paris"}}}]""")! },
            new("tool", "18 C") { ToolCallId = "call1" },
        };
        string rendered = chat.Render(conversation, tools);
        Assert.Contains("<tools>", rendered);
        Assert.Contains("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}", rendered);  // the arguments as an object
        Assert.Contains("<tool_response>\n18 C\n</tool_response>", rendered);
        Assert.Equal(chat.Encode(conversation, tools).Count, JsonDocument.Parse(text).RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }
}
