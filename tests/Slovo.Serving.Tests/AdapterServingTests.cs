using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Slovo.Generation;
using Slovo.LanguageModels;
using Slovo.Torch;

namespace Slovo.Serving.Tests;

/// <summary>
/// One base model with two LoRA adapters, served as three models: the request's <c>model</c> chooses, each answers with what
/// the library generates with that adapter alone (the base with none), also when all three are asked at once.
/// </summary>
public sealed class AdapterServingTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("slovo-served-adapters").FullName;
    private WebApplication _app = null!;
    private ServedModels _models = null!;

    public async Task InitializeAsync()
    {
        LanguageModel lm = TestModels.Gpt();
        var gpt = (GptModel)lm.Module;
        foreach ((string name, ulong seed) in new[] { ("poet", 1UL), ("critic", 2UL) })
        {
            using LoraAdapter adapter = RandomGenerator.Seeded(seed, () => LoraAdapter.Attach(gpt, new LoraOptions { Rank = 4, Alpha = 16, Targets = ["c_attn", "c_fc"] }));
            using (LibTorch.NoGrad())
            using (var g = new RandomGenerator(seed))
                foreach (Tensor p in adapter.Parameters()) p.Normal_(0, 0.5, g);
            adapter.Save(Path.Combine(_dir, name));
            adapter.Detach();
        }
        _models = new ServedModels
        {
            Generator = lm, GeneratorId = "tiny-gpt",
            Adapters = [("poet", lm.LoadAdapter(Path.Combine(_dir, "poet"))), ("critic", lm.LoadAdapter(Path.Combine(_dir, "critic")))],
        };
        _app = SlovoServer.Create(_models, ServerFixture.Options, b => b.WebHost.UseTestServer());
        await _app.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        _models.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string Expected(LoraAdapter? adapter, string prompt)
    {
        LanguageModel lm = _models.Generator!;
        using var chosen = Slovo.Torch.NN.LoraLayer.Select(adapter);
        GenerationResult r = lm.Generate(lm.EncodePrompt(prompt), new GenerationOptions { MaxTokens = 12, Greedy = true, Temperature = 0, EosToken = lm.Vocabulary.EosId });
        return lm.Decode(r.Tokens);
    }

    [Fact]
    public async Task EachAdapterAnswersAsTheLibraryDoesWithThatAdapterAlone()
    {
        using HttpClient client = _app.GetTestClient();
        async Task<(string Model, string Text)> Ask(string? model)
        {
            string json = JsonSerializer.Serialize(new Dictionary<string, object?> { ["model"] = model, ["prompt"] = "we propose", ["max_tokens"] = 12, ["temperature"] = 0 });
            using HttpResponseMessage r = await client.PostAsync("/v1/completions", new StringContent(json, Encoding.UTF8, "application/json"));
            string body = await r.Content.ReadAsStringAsync();
            Assert.True(r.StatusCode == HttpStatusCode.OK, body);
            JsonElement e = JsonDocument.Parse(body).RootElement;
            return (e.GetProperty("model").GetString()!, e.GetProperty("choices")[0].GetProperty("text").GetString()!);
        }
        string plain = Expected(null, "we propose"), poet = Expected(_models.Adapters[0].Adapter, "we propose"), critic = Expected(_models.Adapters[1].Adapter, "we propose");
        Assert.Equal(3, new[] { plain, poet, critic }.Distinct().Count()); // the adapters do change the greedy text
        // Many at once: the three schedulers decode side by side over the same weights.
        var asked = Enumerable.Range(0, 9).Select(i => (string?)(i % 3 == 0 ? "tiny-gpt" : i % 3 == 1 ? "poet" : "critic")).Append(null).ToList();
        (string Model, string Text)[] answers = await Task.WhenAll(asked.Select(Ask));
        for (int i = 0; i < asked.Count; ++i)
        {
            string want = asked[i] switch { "poet" => poet, "critic" => critic, _ => plain };
            Assert.Equal(asked[i] ?? "tiny-gpt", answers[i].Model);
            Assert.Equal(want, answers[i].Text);
        }
        using HttpResponseMessage models = await client.GetAsync("/v1/models");
        string listed = await models.Content.ReadAsStringAsync();
        Assert.Equal(["tiny-gpt", "poet", "critic"], JsonDocument.Parse(listed).RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        using HttpResponseMessage missing = await client.PostAsync("/v1/completions", new StringContent("""{"model":"nobody","prompt":"we"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("'poet' (generator)", await missing.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task MetricsGaugeEachServedModelsScheduler()
    {
        using HttpClient client = _app.GetTestClient();
        string text = await client.GetStringAsync("/metrics");
        // One sample per model, each adapter's scheduler beside the base model's, and none without a model label.
        foreach (string gauge in new[] { "slovo_serving_queue_depth", "slovo_serving_active_sequences" })
        {
            string[] samples = text.Split('\n').Where(l => l.StartsWith(gauge + "{", StringComparison.Ordinal) || l.StartsWith(gauge + " ", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal([$"{gauge}{{model=\"critic\"}} 0", $"{gauge}{{model=\"poet\"}} 0", $"{gauge}{{model=\"tiny-gpt\"}} 0"], samples);
        }
    }
}
