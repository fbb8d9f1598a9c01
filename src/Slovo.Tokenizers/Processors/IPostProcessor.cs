namespace Slovo.Tokenizers.Processors;

/// <summary>The last step of encoding: adds special tokens around one encoded sequence (Hugging Face's post_processor).</summary>
public interface IPostProcessor
{
    /// <summary>How many tokens it adds to one sequence; truncation leaves room for them.</summary>
    int Added { get; }

    /// <summary>The encoding with the special tokens added (offsets (0, 0), special-token mask 1).</summary>
    TokenEncoding Process(TokenEncoding encoding);
}
