namespace Gateway.Mcp;

/// <summary>What a JSON-RPC message is, by JSON-RPC 2.0's rules.</summary>
public enum JsonRpcMessageKind
{
    /// <summary>Not a valid message; see <see cref="JsonRpcMessage.Error"/>.</summary>
    Invalid,

    /// <summary>A <c>method</c> and an <c>id</c>: the sender expects an answer.</summary>
    Request,

    /// <summary>A <c>method</c> without an <c>id</c>.</summary>
    Notification,

    /// <summary>A <c>result</c> or an <c>error</c> without a <c>method</c>: a client answering a server's request.</summary>
    Response,
}
