using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;

namespace Slovo.Serving;

/// <summary>A request the server refuses, answered with OpenAI's error object and <see cref="Status"/>.</summary>
public sealed class ApiException(int status, string message, string? param = null, string type = "invalid_request_error") : Exception(message)
{
    /// <summary>OpenAI's error code ("model_not_found", ...), or null.</summary>
    public string? Code { get; init; }

    /// <summary>The HTTP status.</summary>
    public int Status { get; } = status;

    /// <summary>The request field at fault, or null.</summary>
    public string? Param { get; } = param;

    /// <summary>OpenAI's error type ("invalid_request_error", "server_error", ...).</summary>
    public string Type { get; } = type;
}

/// <summary>Reads request bodies: size-limited, JSON, with typed fields that name themselves in errors.</summary>
internal static class RequestBody
{
    public static async Task<JsonElement> ReadAsync(HttpContext context, long limit)
    {
        if (context.Request.ContentLength > limit) throw TooLarge(limit);
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[16384];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + read > limit) throw TooLarge(limit);
            buffer.Write(chunk, 0, read);
        }
        if (buffer.Length == 0) throw new ApiException(400, "the request has no body; send a JSON object");
        byte[] bytes = buffer.ToArray();
        if (!Utf8.IsValid(bytes))
        {
            Utf8.ToUtf16(bytes, new char[bytes.Length], out int valid, out _, replaceInvalidSequences: false);
            throw new ApiException(400, $"the body is not valid UTF-8 (an invalid byte sequence at byte {valid:N0}); send the JSON encoded as UTF-8");
        }
        JsonElement root;
        try
        {
            using JsonDocument doc = JsonDocument.Parse(bytes);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ApiException(400, "the body must be a JSON object");
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ApiException(400, $"the body is not valid JSON: {e.Message}");
        }
        CheckText(root, "");
        return root;
    }

    // Every string and property name must be Unicode text: JSON's \u escapes can spell half of a UTF-16 surrogate pair,
    // which no string can hold.
    private static void CheckText(JsonElement e, string path)
    {
        try
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.String:
                    _ = e.GetString();
                    break;
                case JsonValueKind.Array:
                    int i = 0;
                    foreach (JsonElement item in e.EnumerateArray()) CheckText(item, $"{path}[{i++}]");
                    break;
                case JsonValueKind.Object:
                    foreach (JsonProperty p in e.EnumerateObject())
                    {
                        string name = p.Name;
                        CheckText(p.Value, path.Length == 0 ? name : $"{path}.{name}");
                    }
                    break;
            }
        }
        catch (InvalidOperationException)
        {
            throw new ApiException(400, $"{(path.Length == 0 ? "a property name" : $"'{path}'")} holds an unpaired UTF-16 surrogate (an escape such as \\ud800 without its pair); send valid Unicode text",
                                   path.Length == 0 ? null : path);
        }
    }

    private static ApiException TooLarge(long limit) =>
        new(413, $"the request body is larger than the server's limit of {limit:N0} bytes; send less, or start the server with a larger --max-body");
}

/// <summary>The fields of a JSON request object; a field that is null counts as absent.</summary>
internal readonly struct Fields(JsonElement o)
{
    private JsonElement? Get(string name) =>
        o.TryGetProperty(name, out JsonElement v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public bool Has(string name) => Get(name) is not null;

    public JsonElement? Raw(string name) => Get(name);

    public string? String(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.String) throw new ApiException(400, $"'{name}' must be a string", name);
        return v.GetString();
    }

    public int? Int(string name, int min = int.MinValue, int max = int.MaxValue)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long x)) throw new ApiException(400, $"'{name}' must be an integer", name);
        if (x < min || x > max) throw new ApiException(400, $"'{name}' is {x}; it must be between {min} and {max}", name);
        return (int)x;
    }

    public long? Long(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long x)) throw new ApiException(400, $"'{name}' must be an integer", name);
        return x;
    }

    public double? Number(string name, double min, double max)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number) throw new ApiException(400, $"'{name}' must be a number", name);
        double x = v.GetDouble();
        if (x < min || x > max) throw new ApiException(400, $"'{name}' is {x}; it must be between {min} and {max}", name);
        return x;
    }

    public bool? Bool(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) throw new ApiException(400, $"'{name}' must be true or false", name);
        return v.GetBoolean();
    }

    /// <summary>A string or an array of strings, as a list (null when absent).</summary>
    public List<string>? Strings(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind == JsonValueKind.String) return [v.GetString()!];
        if (v.ValueKind == JsonValueKind.Array && v.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String))
            return v.EnumerateArray().Select(e => e.GetString()!).ToList();
        throw new ApiException(400, $"'{name}' must be a string or an array of strings", name);
    }

    public JsonElement? Object(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Object) throw new ApiException(400, $"'{name}' must be an object", name);
        return v;
    }

    public JsonElement? Array(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Array) throw new ApiException(400, $"'{name}' must be an array", name);
        return v;
    }
}
