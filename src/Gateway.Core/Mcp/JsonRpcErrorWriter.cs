using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Gateway.Mcp;

/// <summary>
/// Writes the JSON-RPC error answers the gateway sends in place of forwarding: a gateway refusal (-32001, with the
/// contract's <c>data</c>), a parse or invalid-request error (with its reason in <c>data</c>), MCP's
/// <c>HeaderMismatch</c> (-32020), one at a time or as a batch. The id is written exactly as the request spelled it.
/// </summary>
public static class JsonRpcErrorWriter
{
    // Relaxed: these answers go to API clients as JSON, never into HTML; non-ASCII details stay readable.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary><c>{"jsonrpc":"2.0","id":ID,"error":{"code":-32001,"message":detail,"data":{...}}}</c>.</summary>
    public static byte[] Refusal(string? id, McpRefusal refusal) => Write(w => WriteOne(w, JsonRpcErrorResponse.For(id, refusal)));

    /// <summary>The answer for a body or message the parser refused (its code: -32700, -32600 or -32602).</summary>
    public static byte[] Invalid(string? id, JsonRpcError error) => Write(w => WriteOne(w, JsonRpcErrorResponse.For(id, error)));

    /// <summary>A parse error (id null), as JSON-RPC answers a body that is not JSON.</summary>
    public static byte[] ParseError(JsonRpcError error) => Invalid(null, error);

    /// <summary>MCP 2026-07-28's <c>HeaderMismatch</c> (-32020), sent with HTTP 400.</summary>
    public static byte[] HeaderMismatch(string? id, McpHeaderMismatch mismatch)
    {
        ArgumentNullException.ThrowIfNull(mismatch);
        return Invalid(id, new JsonRpcError(JsonRpcError.HeaderMismatchCode, "header_mismatch", mismatch.Detail));
    }

    /// <summary>One answer, a gateway refusal or a JSON-RPC error.</summary>
    public static byte[] One(JsonRpcErrorResponse answer) => Write(w => WriteOne(w, answer));

    /// <summary>Any error code with a message and no data.</summary>
    public static byte[] Error(string? id, int code, string message) => Write(w => WriteError(w, id, code, message, null));

    /// <summary>A batch answer: a JSON array of the answers in order (JSON-RPC answers a batch with an array).</summary>
    public static byte[] Batch(ReadOnlySpan<JsonRpcErrorResponse> answers)
    {
        var buffer = new ArrayBufferWriter<byte>(256 * Math.Max(answers.Length, 1));
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartArray();
            foreach (var answer in answers)
            {
                WriteOne(writer, answer);
            }

            writer.WriteEndArray();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes one answer to <paramref name="writer"/> (e.g. into a batch the caller assembles).</summary>
    public static void WriteOne(Utf8JsonWriter writer, JsonRpcErrorResponse answer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (answer.Refusal is { } refusal)
        {
            WriteError(writer, answer.Id, JsonRpcError.GatewayRefusalCode, refusal.Detail, w =>
            {
                w.WriteString("error"u8, refusal.Error);
                w.WriteString("detail"u8, refusal.Detail);
                w.WriteString("decision_id"u8, refusal.DecisionId);
                if (refusal.ApprovalId is not null)
                {
                    w.WriteString("approval_id"u8, refusal.ApprovalId);
                }

                if (refusal.ApprovalUrl is not null)
                {
                    w.WriteString("approval_url"u8, refusal.ApprovalUrl);
                }

                if (refusal.RetryAfter is { } retryAfter)
                {
                    w.WriteNumber("retry_after"u8, retryAfter);
                }
            });
            return;
        }

        var error = answer.Error ?? throw new ArgumentException("An answer needs an error or a refusal.", nameof(answer));
        WriteError(writer, answer.Id, error.Code, error.Message, w => w.WriteString("reason"u8, error.Reason));
    }

    private static void WriteError(Utf8JsonWriter writer, string? id, int code, string message, Action<Utf8JsonWriter>? data)
    {
        writer.WriteStartObject();
        writer.WriteString("jsonrpc"u8, "2.0");
        writer.WritePropertyName("id"u8);
        if (id is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            // The id as the request spelled it (validated: a caller's mistake must not produce broken JSON).
            writer.WriteRawValue(id);
        }

        writer.WriteStartObject("error"u8);
        writer.WriteNumber("code"u8, code);
        writer.WriteString("message"u8, message);
        if (data is not null)
        {
            writer.WriteStartObject("data"u8);
            data(writer);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }
}
