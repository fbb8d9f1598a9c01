// A program written as a new user would, against the packages from the local feed (scripts/check-packages): the README's
// library example, then a tokenizer example. It exits non-zero when what it checks does not hold.
using Slovo.Tokenizers;
using Slovo.Tokenizers.Serialization;
using Slovo.Torch;
using Slovo.Torch.NN;
using Slovo.Torch.Optim;
using Slovo.Torch.Serialization;

// The README's example: a small network trained for 1,000 steps, saved as safetensors.
using var model = new Sequential(new Linear(32, 64), Activation.Tanh(), new Linear(64, 4));
using var opt = new AdamW(model.Parameters(), lr: 1e-3);
using Tensor x = Tensor.RandN(16, 32), y = Tensor.RandInt(0, 4, [16]);
float first = 0, last = 0;
for (int step = 0; step < 1000; ++step)
{
    using var scope = DisposeScope.Begin();      // every tensor made in this step is freed at its end
    opt.ZeroGrad();
    Tensor loss = Losses.CrossEntropy(model.Forward(x), y);
    loss.Backward();
    opt.Step();
    if (step == 0) first = loss.ToArray<float>()[0];
    last = loss.ToArray<float>()[0];
}
SafeTensors.Save("model.safetensors", model.StateDict());
Console.WriteLine($"libtorch {LibTorch.Version}: loss {first:F4} -> {last:F4}; wrote model.safetensors ({new FileInfo("model.safetensors").Length} bytes)");
if (!(last < first / 10)) { Console.Error.WriteLine("the loss did not fall"); return 1; }

// A tokenizer example: load a Hugging Face tokenizer.json, encode, decode.
Tokenizer tokenizer = TokenizerJson.Load(args[0]);
const string text = "Hello, world! Tokenizers in C#.";
var encoding = tokenizer.Encode(text);
string back = tokenizer.Decode(encoding.Ids);
Console.WriteLine($"{encoding.Ids.Length} tokens: {string.Join(' ', encoding.Ids)} -> \"{back}\"");
if (back != text) { Console.Error.WriteLine("decode(encode(text)) differs from the text"); return 1; }
return 0;
