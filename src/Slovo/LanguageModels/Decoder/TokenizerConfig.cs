using System.Text.Json;
using System.Text.Json.Nodes;
using Slovo.Torch.Serialization;

namespace Slovo.LanguageModels;

/// <summary>
/// tokenizer_config.json of a Hugging Face decoder folder, the part Slovo reads and writes: whether prompts start with the
/// beginning-of-sequence token (<c>add_bos_token</c>) and the chat template (<c>chat_template</c>, or chat_template.jinja beside it).
/// </summary>
public static class TokenizerConfig
{
    /// <summary>The file's name in a model folder.</summary>
    public const string FileName = "tokenizer_config.json";

    /// <summary>
    /// Writes <paramref name="dir"/>/tokenizer_config.json atomically. A null <paramref name="chatTemplate"/> is written as null (no template);
    /// the end-of-sequence flag and the special tokens' texts are written when given (a GGUF file carries them).
    /// </summary>
    public static void Write(string dir, bool addBos, string? chatTemplate, bool? addEos = null, string? bosToken = null, string? eosToken = null)
    {
        ArgumentNullException.ThrowIfNull(dir);
        var o = new JsonObject { ["add_bos_token"] = addBos };
        if (addEos is { } eos) o["add_eos_token"] = eos;
        if (bosToken is not null) o["bos_token"] = bosToken;
        if (eosToken is not null) o["eos_token"] = eosToken;
        o["chat_template"] = chatTemplate;
        AtomicFile.WriteAllText(Path.Combine(dir, FileName), o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>add_bos_token and the chat template of <paramref name="dir"/> (either may be absent; a list of named templates gives "default").</summary>
    public static (bool? AddBos, string? ChatTemplate) Read(string dir)
    {
        ArgumentNullException.ThrowIfNull(dir);
        string path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) return (null, ReadTemplateFile(dir));
        JsonObject o;
        try { o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e); }
        bool? addBos = o["add_bos_token"] is JsonValue v && v.TryGetValue(out bool b) ? b : null;
        string? template = o["chat_template"] switch
        {
            JsonValue t when t.TryGetValue(out string? s) => s,
            JsonArray named => named.OfType<JsonObject>().FirstOrDefault(n => n["name"]?.GetValue<string>() == "default")?["template"]?.GetValue<string>(),
            _ => null,
        };
        return (addBos, template ?? ReadTemplateFile(dir));
    }

    // Newer folders keep the template in chat_template.jinja.
    private static string? ReadTemplateFile(string dir) =>
        File.Exists(Path.Combine(dir, "chat_template.jinja")) ? File.ReadAllText(Path.Combine(dir, "chat_template.jinja")) : null;
}
