using System.Text.Json;

namespace Gateway.Mcp;

/// <summary>
/// What the audit event, the span and an approval record of one MCP message: its method, the tool or prompt name or
/// resource URI it targets, its JSON-RPC id as sent, and the SHA-256 of its canonical arguments. Never the argument values.
/// </summary>
public sealed class McpMessageInfo
{
    public required string Method { get; init; }

    /// <summary>The tool or prompt name (<c>params.name</c>) or resource URI (<c>params.uri</c>); null for other methods.</summary>
    public string? Target { get; init; }

    /// <summary>The JSON-RPC id as the body spells it (<c>7</c>, <c>"a"</c>); null for notifications and responses.</summary>
    public string? Id { get; init; }

    /// <summary>Lowercase hex SHA-256 of the RFC 8785 canonical JSON of <c>params.arguments</c>; null when the method carries none.</summary>
    public string? ArgumentsSha256 { get; init; }

    /// <summary>The session the request belongs to (2025 generation), for the span.</summary>
    public string? SessionId { get; init; }

    /// <summary>The canonical arguments, for an approval's redacted preview; valid only while the request is decided.</summary>
    internal ReadOnlyMemory<byte> CanonicalArguments { get; init; }

    /// <summary>The arguments element, for <c>describe</c>; valid only while the request is decided.</summary>
    internal JsonElement? Arguments { get; init; }

    /// <summary>A resource URI's template variables, for <c>describe</c>.</summary>
    internal IReadOnlyDictionary<string, string>? Variables { get; init; }
}
