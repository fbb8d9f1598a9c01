using Slovo.Tokenizers;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch;
using Slovo.Torch.Serialization;

namespace Slovo.Cli.Tests;

[Collection("cli")] // the command writes to the console; run these one at a time
public class GptGenerateTests
{
    [Fact]
    public void AHuggingFaceGpt2FolderGeneratesWhatAPlainPyTorchForwardGreedilyPicks()
    {
        // tests/golden/make_golden.py (gpt2_tiny): "hello" encoded by Hugging Face tokenizers, then 20 tokens, each the
        // argmax of a full PyTorch pass over the shipped weights.
        string folder = Path.Combine(TestSupport.TestPaths.Shared, "models", "tiny-random-gpt2");
        Dictionary<string, Tensor> g = SafeTensors.Load(Path.Combine(TestSupport.TestPaths.RepoRoot, "tests", "golden", "gpt2_tiny.safetensors"));
        int[] prompt = g["hello.prompt"].ToArray<long>().Select(x => (int)x).ToArray();
        int[] greedy = g["hello.greedy"].ToArray<long>().Select(x => (int)x).ToArray();
        Tokenizer tokenizer = TokenizerJson.Load(Path.Combine(folder, "tokenizer.json"));
        Assert.Equal(prompt, tokenizer.Encode("hello", addSpecialTokens: false).Ids);
        string printed = Cli.Ok("lm", "generate", "--model", folder, "--prompt", "hello", "--greedy", "--max-tokens", "20");
        Assert.Equal(tokenizer.Decode([.. prompt, .. greedy]), printed.TrimEnd('\n'));
        Assert.Contains("no tokenizer.json", Cli.Fails(1, ["lm", "generate", "--model", MissingTokenizer(folder), "--prompt", "hello"]));
    }

    private static string MissingTokenizer(string folder)
    {
        string dir = Directory.CreateTempSubdirectory("slovo-gpt2-notok").FullName;
        foreach (string f in new[] { "config.json", "model.safetensors" }) File.Copy(Path.Combine(folder, f), Path.Combine(dir, f));
        return dir;
    }
}
