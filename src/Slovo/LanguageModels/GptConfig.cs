using System.Text.Json.Serialization;
using Slovo.Torch.NN;
using Slovo.Torch.Serialization;
using Slovo.Training;

namespace Slovo.LanguageModels;

/// <summary>The settings of a <see cref="GptModel"/>, under Hugging Face GPT2Config's names (config.json reads and writes as is).</summary>
public sealed record GptConfig
{
    /// <summary>Transformer blocks.</summary>
    [JsonPropertyName("n_layer")] public int Layers { get; init; } = 12;

    /// <summary>Attention heads per block.</summary>
    [JsonPropertyName("n_head")] public int Heads { get; init; } = 12;

    /// <summary>Width of the residual stream.</summary>
    [JsonPropertyName("n_embd")] public int Width { get; init; } = 768;

    /// <summary>Longest context (learned positions).</summary>
    [JsonPropertyName("n_positions")] public int Positions { get; init; } = 1024;

    /// <summary>Vocabulary size.</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 50257;

    /// <summary>Width of each block's MLP (null: 4 × <see cref="Width"/>).</summary>
    [JsonPropertyName("n_inner")] public int? Inner { get; init; }

    /// <summary>LayerNorm epsilon.</summary>
    [JsonPropertyName("layer_norm_epsilon")] public double LayerNormEpsilon { get; init; } = 1e-5;

    /// <summary>"gelu_new" (GPT-2's tanh form) or "gelu" (exact).</summary>
    [JsonPropertyName("activation_function")] public string Activation { get; init; } = "gelu_new";

    /// <summary>Dropout on the summed token and position embeddings.</summary>
    [JsonPropertyName("embd_pdrop")] public double EmbeddingDropout { get; init; } = 0.1;

    /// <summary>Dropout on attention weights.</summary>
    [JsonPropertyName("attn_pdrop")] public double AttentionDropout { get; init; } = 0.1;

    /// <summary>Dropout on each residual branch.</summary>
    [JsonPropertyName("resid_pdrop")] public double ResidualDropout { get; init; } = 0.1;

    /// <summary>Whether the output layer is the token embedding (GPT-2: yes).</summary>
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; init; } = true;

    /// <summary>Begin-of-sequence id.</summary>
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; init; }

    /// <summary>End-of-sequence id.</summary>
    [JsonPropertyName("eos_token_id")] public int? EosTokenId { get; init; }

    /// <summary>Padding id (Hugging Face writes it where the tokenizer has one).</summary>
    [JsonPropertyName("pad_token_id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? PadTokenId { get; init; }

    /// <summary>Always "gpt2".</summary>
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "gpt2";

    /// <summary>The Hugging Face class that loads the folder.</summary>
    [JsonPropertyName("architectures")] public IReadOnlyList<string> Architectures { get; init; } = ["GPT2LMHeadModel"];
}
