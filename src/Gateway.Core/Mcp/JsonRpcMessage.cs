using System.Text.Json;

namespace Gateway.Mcp;

/// <summary>
/// One JSON-RPC message of a POST body, with what the gateway decides on already read out. The
/// <see cref="JsonElement"/>s are views into the <see cref="JsonRpcBody"/> that produced them and are valid only until
/// it is disposed.
/// </summary>
public sealed class JsonRpcMessage
{
    /// <summary>Request, notification, response, or <see cref="JsonRpcMessageKind.Invalid"/>.</summary>
    public JsonRpcMessageKind Kind { get; init; }

    /// <summary>
    /// The <c>id</c> exactly as the body spells it (<c>1</c>, <c>"a"</c> with its quotes and escapes), so an answer
    /// written for it carries the same JSON; null for a notification or an id that is not a string or number.
    /// </summary>
    public string? Id { get; init; }

    /// <summary>The <c>method</c>; null for a response or when it was not a valid method name.</summary>
    public string? Method { get; init; }

    /// <summary>How the gateway treats <see cref="Method"/>.</summary>
    public McpMethod KnownMethod { get; init; }

    /// <summary><c>params.name</c> of <c>tools/call</c> and <c>prompts/get</c>; null otherwise.</summary>
    public string? Name { get; init; }

    /// <summary><c>params.uri</c> of <c>resources/read</c>; null otherwise.</summary>
    public string? Uri { get; init; }

    /// <summary>The whole message object.</summary>
    public JsonElement Element { get; init; }

    /// <summary><c>params</c> (always an object when present).</summary>
    public JsonElement? Params { get; init; }

    /// <summary><c>params.arguments</c> (always an object when present).</summary>
    public JsonElement? Arguments { get; init; }

    /// <summary><c>params._meta</c> (always an object when present).</summary>
    public JsonElement? Meta { get; init; }

    /// <summary><c>params._meta["io.modelcontextprotocol/protocolVersion"]</c>, which 2026-07-28 requests carry.</summary>
    public string? MetaProtocolVersion { get; init; }

    /// <summary>Why this message is invalid; null when it is valid.</summary>
    public JsonRpcError? Error { get; init; }

    /// <summary>True for a valid <c>tools/call</c>, <c>resources/read</c> or <c>prompts/get</c> request: decided in full.</summary>
    public bool CarriesCapability => Error is null && KnownMethod is McpMethod.ToolsCall or McpMethod.ResourcesRead or McpMethod.PromptsGet;
}
