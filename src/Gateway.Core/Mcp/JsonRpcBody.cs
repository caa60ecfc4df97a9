using System.Text.Json;

namespace Gateway.Mcp;

/// <summary>
/// A parsed POST body: one message or a batch, or the reason the whole body is refused. Holds a pooled
/// <see cref="JsonDocument"/> over the caller's buffer, so the buffer must outlive it; dispose it when the decision
/// (and anything reading <see cref="JsonRpcMessage.Arguments"/>) is done.
/// </summary>
public sealed class JsonRpcBody : IDisposable
{
    private readonly JsonDocument? _document;

    internal JsonRpcBody(JsonDocument? document, bool isBatch, IReadOnlyList<JsonRpcMessage> messages, JsonRpcError? error)
    {
        _document = document;
        IsBatch = isBatch;
        Messages = messages;
        Error = error;
    }

    /// <summary>Why the whole body is refused (answered with this error and a null id); null when it was read.</summary>
    public JsonRpcError? Error { get; }

    /// <summary>True when the body is a JSON array (a batch), even when the batch itself is refused.</summary>
    public bool IsBatch { get; }

    /// <summary>The messages in body order; empty when <see cref="Error"/> is set. Each may be invalid on its own.</summary>
    public IReadOnlyList<JsonRpcMessage> Messages { get; }

    /// <summary>The root element (the message object or the batch array); undefined when the body is not JSON.</summary>
    public JsonElement Root => _document?.RootElement ?? default;

    /// <summary>True when the body was read and every message in it is valid.</summary>
    public bool IsValid
    {
        get
        {
            if (Error is not null)
            {
                return false;
            }

            for (var i = 0; i < Messages.Count; i++)
            {
                if (Messages[i].Error is not null)
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _document?.Dispose();
}
