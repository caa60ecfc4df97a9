using System.Text.Json;
using System.Text.Unicode;

namespace Gateway.Mcp;

/// <summary>
/// Reads a streamable-HTTP POST body into the JSON-RPC messages the gateway decides on. Bounded (size, depth, batch
/// size) and strict where a lenient reader could be walked past: a duplicate member name anywhere in the body is
/// refused, since the gateway and the MCP server might each keep a different one of the two values. Never throws.
/// </summary>
public static class JsonRpcParser
{
    private const string ProtocolVersionMeta = "io.modelcontextprotocol/protocolVersion";

    private static readonly JsonRpcMessage[] NoMessages = [];

    /// <summary>Parses <paramref name="body"/>; the result references the buffer, which must outlive it.</summary>
    public static JsonRpcBody Parse(ReadOnlyMemory<byte> body, JsonRpcParserOptions? options = null)
    {
        options ??= JsonRpcParserOptions.Default;
        if (body.Length > options.MaxBodyBytes)
        {
            return Refused(JsonRpcError.Parse("too_large", $"The body is larger than the {options.MaxBodyBytes} bytes the gateway reads."));
        }

        // JSON text is UTF-8 (RFC 8259), and the reader checks it only where a string is decoded: a byte the server's
        // decoder replaces and the gateway's refuses (or the other way) would make the two read different names.
        if (!Utf8.IsValid(body.Span))
        {
            return Refused(JsonRpcError.Parse("invalid_utf8", "The body is not valid UTF-8."));
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions
            {
                MaxDepth = options.MaxDepth,
                AllowDuplicateProperties = false,
            });
        }
        catch (JsonException)
        {
            // The failure path only: find out which rule the body broke, so the answer says so.
            return Refused(Classify(body.Span, options.MaxDepth));
        }

        var root = document.RootElement;
        switch (root.ValueKind)
        {
            case JsonValueKind.Object:
                return new JsonRpcBody(document, isBatch: false, [ReadMessage(root)], error: null);

            case JsonValueKind.Array:
                var count = root.GetArrayLength();
                if (count == 0)
                {
                    return new JsonRpcBody(document, isBatch: true, NoMessages, JsonRpcError.Invalid("empty_batch", "An empty batch is not a valid JSON-RPC request."));
                }

                if (count > options.MaxBatchSize)
                {
                    return new JsonRpcBody(document, isBatch: true, NoMessages, JsonRpcError.Invalid("batch_too_large", $"A batch may hold at most {options.MaxBatchSize} messages; this one holds {count}."));
                }

                var messages = new JsonRpcMessage[count];
                var i = 0;
                foreach (var item in root.EnumerateArray())
                {
                    messages[i++] = ReadMessage(item);
                }

                return new JsonRpcBody(document, isBatch: true, messages, error: null);

            default:
                return new JsonRpcBody(document, isBatch: false, NoMessages, JsonRpcError.Invalid("not_a_message", "The body must be a JSON-RPC message object or a batch array."));
        }
    }

    private static JsonRpcBody Refused(JsonRpcError error) => new(document: null, isBatch: false, NoMessages, error);

    private static JsonRpcMessage ReadMessage(JsonElement message)
    {
        if (message.ValueKind != JsonValueKind.Object)
        {
            return Invalid(message, id: null, JsonRpcError.Invalid("message_not_object", "Every message of a batch must be a JSON object."));
        }

        // The id first, so every later refusal can be answered for it.
        string? id = null;
        var hasId = message.TryGetProperty("id"u8, out var idElement);
        if (hasId)
        {
            switch (idElement.ValueKind)
            {
                case JsonValueKind.String:
                case JsonValueKind.Number:
                    id = idElement.GetRawText();
                    break;
                case JsonValueKind.Null:
                    // MCP forbids a null id on requests; JSON-RPC allows it only on an error answering an unreadable request.
                    if (!message.TryGetProperty("error"u8, out _) || message.TryGetProperty("method"u8, out _))
                    {
                        return Invalid(message, null, JsonRpcError.Invalid("id_null", "The id must be a string or a number, not null."));
                    }

                    break;
                default:
                    return Invalid(message, null, JsonRpcError.Invalid("id_type", $"The id must be a string or a number, not {Describe(idElement.ValueKind)}."));
            }
        }

        if (!message.TryGetProperty("jsonrpc"u8, out var version) || version.ValueKind != JsonValueKind.String || !version.ValueEquals("2.0"u8))
        {
            return Invalid(message, id, JsonRpcError.Invalid("jsonrpc_version", "The message must carry \"jsonrpc\": \"2.0\"."));
        }

        var hasResult = message.TryGetProperty("result"u8, out _);
        var hasError = message.TryGetProperty("error"u8, out var errorElement);
        if (!message.TryGetProperty("method"u8, out var methodElement))
        {
            return ReadResponse(message, id, hasId, hasResult, hasError, errorElement);
        }

        if (hasResult || hasError)
        {
            return Invalid(message, id, JsonRpcError.Invalid("ambiguous_message", "A message with a method cannot also carry a result or an error."));
        }

        if (methodElement.ValueKind != JsonValueKind.String || !TryGetString(methodElement, out var method))
        {
            return Invalid(message, id, JsonRpcError.Invalid("method_not_string", "The method must be a string."));
        }

        if (ValidateMethod(method) is { } methodError)
        {
            return Invalid(message, id, methodError);
        }

        var known = Classify(method);
        var kind = hasId ? JsonRpcMessageKind.Request : JsonRpcMessageKind.Notification;
        if (!message.TryGetProperty("params"u8, out var parameters))
        {
            return known is McpMethod.ToolsCall or McpMethod.PromptsGet or McpMethod.ResourcesRead
                ? Invalid(message, id, method, known, JsonRpcError.Params("params_missing", $"{method} needs params."))
                : new JsonRpcMessage { Kind = kind, Id = id, Method = method, KnownMethod = known, Element = message };
        }

        if (parameters.ValueKind != JsonValueKind.Object)
        {
            return Invalid(message, id, method, known, JsonRpcError.Invalid("params_not_object", $"params must be an object, not {Describe(parameters.ValueKind)}."));
        }

        JsonElement? meta = null;
        string? protocolVersion = null;
        if (parameters.TryGetProperty("_meta"u8, out var metaElement))
        {
            if (metaElement.ValueKind != JsonValueKind.Object)
            {
                return Invalid(message, id, method, known, JsonRpcError.Params("meta_not_object", $"params._meta must be an object, not {Describe(metaElement.ValueKind)}."));
            }

            meta = metaElement;
            if (metaElement.TryGetProperty(ProtocolVersionMeta, out var versionElement))
            {
                if (versionElement.ValueKind != JsonValueKind.String || !TryGetString(versionElement, out protocolVersion))
                {
                    return Invalid(message, id, method, known, JsonRpcError.Params("protocol_version_not_string", $"params._meta[\"{ProtocolVersionMeta}\"] must be a string."));
                }
            }
        }

        string? name = null;
        string? uri = null;
        JsonElement? arguments = null;
        switch (known)
        {
            case McpMethod.ToolsCall or McpMethod.PromptsGet:
                // Only params.name names the tool; a "name" anywhere else (_meta, arguments) is never read.
                if (!parameters.TryGetProperty("name"u8, out var nameElement) || nameElement.ValueKind != JsonValueKind.String || !TryGetString(nameElement, out name))
                {
                    return Invalid(message, id, method, known, JsonRpcError.Params("name_missing", $"{method} needs params.name as a string."));
                }

                if (parameters.TryGetProperty("arguments"u8, out var argumentsElement))
                {
                    if (argumentsElement.ValueKind != JsonValueKind.Object)
                    {
                        return Invalid(message, id, method, known, JsonRpcError.Params("arguments_not_object", $"params.arguments must be an object, not {Describe(argumentsElement.ValueKind)}."));
                    }

                    arguments = argumentsElement;
                }

                break;

            case McpMethod.ResourcesRead:
                if (!parameters.TryGetProperty("uri"u8, out var uriElement) || uriElement.ValueKind != JsonValueKind.String || !TryGetString(uriElement, out uri))
                {
                    return Invalid(message, id, method, known, JsonRpcError.Params("uri_missing", "resources/read needs params.uri as a string."));
                }

                break;
        }

        if (kind == JsonRpcMessageKind.Notification && known is McpMethod.ToolsCall or McpMethod.PromptsGet or McpMethod.ResourcesRead)
        {
            // A notification gets no answer, so a refusal could not be told; and a server may still act on it.
            return Invalid(message, id, method, known, JsonRpcError.Invalid("capability_notification", $"{method} must be a request with an id, not a notification."));
        }

        return new JsonRpcMessage
        {
            Kind = kind,
            Id = id,
            Method = method,
            KnownMethod = known,
            Name = name,
            Uri = uri,
            Element = message,
            Params = parameters,
            Arguments = arguments,
            Meta = meta,
            MetaProtocolVersion = protocolVersion,
        };
    }

    private static JsonRpcMessage ReadResponse(JsonElement message, string? id, bool hasId, bool hasResult, bool hasError, JsonElement errorElement)
    {
        if (hasResult == hasError)
        {
            return Invalid(message, id, hasResult
                ? JsonRpcError.Invalid("result_and_error", "A response carries a result or an error, not both.")
                : JsonRpcError.Invalid("not_a_message", "A message needs a method (request, notification) or a result or error (response)."));
        }

        if (hasResult && !hasId)
        {
            return Invalid(message, null, JsonRpcError.Invalid("id_missing", "A result response must carry the id of the request it answers."));
        }

        if (hasError && errorElement.ValueKind != JsonValueKind.Object)
        {
            return Invalid(message, id, JsonRpcError.Invalid("error_not_object", "A response's error must be an object."));
        }

        return new JsonRpcMessage { Kind = JsonRpcMessageKind.Response, Id = id, Element = message };
    }

    private static JsonRpcMessage Invalid(JsonElement message, string? id, JsonRpcError error) =>
        new() { Kind = JsonRpcMessageKind.Invalid, Id = id, Element = message, Error = error };

    private static JsonRpcMessage Invalid(JsonElement message, string? id, string method, McpMethod known, JsonRpcError error) =>
        new() { Kind = JsonRpcMessageKind.Invalid, Id = id, Method = method, KnownMethod = known, Element = message, Error = error };

    /// <summary>
    /// MCP's methods are ASCII paths. Anything else is refused rather than passed as an uncharged "other" method: an
    /// upstream that folded case or trimmed would otherwise run <c>Tools/Call</c> as the tool call the gateway never
    /// decided.
    /// </summary>
    private static JsonRpcError? ValidateMethod(string method)
    {
        if (method.Length == 0)
        {
            return JsonRpcError.Invalid("method_empty", "The method must not be empty.");
        }

        foreach (var c in method)
        {
            if (c is < '!' or > '~')
            {
                return JsonRpcError.Invalid("method_characters", "The method may hold only visible ASCII characters.");
            }
        }

        if (Classify(method) == McpMethod.Other
            && (method.Equals("tools/call", StringComparison.OrdinalIgnoreCase)
                || method.Equals("resources/read", StringComparison.OrdinalIgnoreCase)
                || method.Equals("prompts/get", StringComparison.OrdinalIgnoreCase)))
        {
            return JsonRpcError.Invalid("method_case_variant", $"\"{method}\" is not a method; MCP's methods are case-sensitive (tools/call, resources/read, prompts/get).");
        }

        return null;
    }

    /// <summary>The gateway's treatment of <paramref name="method"/> (ordinal, MCP being case-sensitive).</summary>
    public static McpMethod Classify(string method) => method switch
    {
        "tools/call" => McpMethod.ToolsCall,
        "resources/read" => McpMethod.ResourcesRead,
        "prompts/get" => McpMethod.PromptsGet,
        "initialize" => McpMethod.Initialize,
        "server/discover" => McpMethod.ServerDiscover,
        "ping" => McpMethod.Ping,
        "tools/list" or "resources/list" or "resources/templates/list" or "prompts/list" => McpMethod.List,
        _ when method.StartsWith("notifications/", StringComparison.Ordinal) => McpMethod.Notification,
        _ => McpMethod.Other,
    };

    private static bool TryGetString(JsonElement element, out string value)
    {
        try
        {
            value = element.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            // An escaped lone surrogate: not text, so it cannot name a method, tool or resource.
            value = string.Empty;
            return false;
        }
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "missing",
    };

    /// <summary>Re-reads a body <see cref="JsonDocument"/> refused, to say which rule it broke.</summary>
    private static JsonRpcError Classify(ReadOnlySpan<byte> body, int maxDepth)
    {
        if (body.Trim(" \t\r\n"u8).IsEmpty)
        {
            return JsonRpcError.Parse("empty_body", "The body is empty; it must be a JSON-RPC message.");
        }

        // One level of slack, so the depth rule is reported by the check below rather than as a syntax error.
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = maxDepth + 1 });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth >= maxDepth)
                {
                    return JsonRpcError.Parse("too_deep", $"The body nests arrays and objects deeper than {maxDepth} levels.");
                }
            }
        }
        catch (JsonException)
        {
            return JsonRpcError.Parse("json_syntax", "The body is not valid JSON.");
        }

        // The reader accepts everything the document refused but duplicates, which it does not look for.
        return JsonRpcError.Parse("duplicate_member", "The body repeats a member name in one object; JSON-RPC messages must not.");
    }
}
