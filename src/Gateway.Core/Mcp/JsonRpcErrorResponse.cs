namespace Gateway.Mcp;

/// <summary>
/// One error answer of a batch: for the message with raw id <see cref="Id"/> (null when it had none), either a
/// gateway <see cref="Refusal"/> (-32001) or a JSON-RPC <see cref="Error"/> (-32700, -32600, -32602, -32020...).
/// </summary>
public readonly record struct JsonRpcErrorResponse(string? Id, JsonRpcError? Error, McpRefusal? Refusal = null)
{
    /// <summary>An answer carrying a gateway refusal.</summary>
    public static JsonRpcErrorResponse For(string? id, McpRefusal refusal) => new(id, null, refusal);

    /// <summary>An answer carrying a JSON-RPC error.</summary>
    public static JsonRpcErrorResponse For(string? id, JsonRpcError error) => new(id, error);
}
