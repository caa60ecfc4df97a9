using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Gateway.Mcp;

/// <summary>
/// Holds the streamable-HTTP request headers that mirror the JSON-RPC body (<c>Mcp-Method</c>, <c>Mcp-Name</c>,
/// <c>MCP-Protocol-Version</c>, <c>Mcp-Param-*</c>) to that body, which is what the gateway decides on.
/// </summary>
/// <remarks>
/// On 2026-07-28 (see <see cref="McpHeaders.RequiresRequestMetadata"/>) a request must carry <c>Mcp-Method</c>, and
/// <c>tools/call</c>, <c>resources/read</c> and <c>prompts/get</c> also <c>Mcp-Name</c>; the version header must
/// equal the body's <c>_meta</c> protocolVersion; an annotated argument present in the body must have its header.
/// On the 2025 generation the headers are optional (the SDK sends <c>Mcp-Method</c> and <c>Mcp-Name</c> anyway),
/// but any that is present must agree. Values compare case-sensitively; <c>Mcp-Name</c> and <c>Mcp-Param-*</c> are
/// decoded from the <c>=?base64?...?=</c> form first; integers compare numerically.
/// </remarks>
public static class McpHeaderCheck
{
    private const string Base64Prefix = "=?base64?";
    private const string Base64Suffix = "?=";

    /// <summary>
    /// Null when the headers agree with <paramref name="body"/>; otherwise the first disagreement.
    /// <paramref name="toolHeaders"/> is what the called tool declares (null: not known, so <c>Mcp-Param-*</c>
    /// headers are left to the MCP server). A body that did not parse is not compared: its parse error is the answer.
    /// </summary>
    public static McpHeaderMismatch? Check(IHeaderDictionary headers, JsonRpcBody body, McpToolHeaders? toolHeaders = null)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(body);
        if (body.Error is not null || body.Messages.Count == 0)
        {
            return null;
        }

        if (Single(headers, McpHeaders.ProtocolVersion, out var version) is { } repeated)
        {
            return repeated;
        }

        if (Single(headers, McpHeaders.Method, out var method) is { } repeatedMethod)
        {
            return repeatedMethod;
        }

        if (Single(headers, McpHeaders.Name, out var name) is { } repeatedName)
        {
            return repeatedName;
        }

        var modern = McpHeaders.RequiresRequestMetadata(version);
        if (body.IsBatch)
        {
            if (modern)
            {
                return new(McpHeaders.ProtocolVersion, $"Protocol version {version} carries one JSON-RPC message per POST; batches exist only in 2025-03-26.");
            }

            // One header cannot describe several messages; an intermediary routing on it would be misled.
            return method is not null || name is not null || FirstParamHeader(headers) is not null
                ? new(method is not null ? McpHeaders.Method : name is not null ? McpHeaders.Name : FirstParamHeader(headers)!, "A batch has no single method or name for MCP headers to mirror; send them only with single messages.")
                : null;
        }

        return CheckMessage(headers, body.Messages[0], version, modern, method, name, toolHeaders);
    }

    private static McpHeaderMismatch? CheckMessage(IHeaderDictionary headers, JsonRpcMessage message, string? version, bool modern, string? method, string? name, McpToolHeaders? toolHeaders)
    {
        if (message.Error is not null)
        {
            return null;
        }

        if (message.Kind == JsonRpcMessageKind.Response)
        {
            if (modern)
            {
                return new(McpHeaders.ProtocolVersion, $"Protocol version {version} has clients send no JSON-RPC responses.");
            }

            return method is not null ? new(McpHeaders.Method, "The body is a response, which has no method for Mcp-Method to name.") : null;
        }

        if (method is not null && !string.Equals(method, message.Method, StringComparison.Ordinal))
        {
            return new(McpHeaders.Method, $"Mcp-Method \"{Printable(method)}\" does not match the body's method \"{message.Method}\".");
        }

        if (method is null && modern && message.Kind == JsonRpcMessageKind.Request)
        {
            return new(McpHeaders.Method, $"Protocol version {version} requires the Mcp-Method header on every request.");
        }

        if (CheckVersion(version, modern, message) is { } versionMismatch)
        {
            return versionMismatch;
        }

        if (CheckName(message, modern, version, name) is { } nameMismatch)
        {
            return nameMismatch;
        }

        return message.KnownMethod == McpMethod.ToolsCall && toolHeaders is not null
            ? CheckParams(headers, message, modern, version, toolHeaders)
            : null;
    }

    private static McpHeaderMismatch? CheckVersion(string? version, bool modern, JsonRpcMessage message)
    {
        var bodyVersion = message.MetaProtocolVersion;
        if (bodyVersion is not null)
        {
            if (version is null)
            {
                return new(McpHeaders.ProtocolVersion, $"The body names protocol version {bodyVersion} in _meta, but the MCP-Protocol-Version header is missing.");
            }

            if (!string.Equals(version, bodyVersion, StringComparison.Ordinal))
            {
                return new(McpHeaders.ProtocolVersion, $"MCP-Protocol-Version \"{Printable(version)}\" does not match the body's _meta protocolVersion \"{bodyVersion}\".");
            }
        }
        else if (modern && message.Kind == JsonRpcMessageKind.Request)
        {
            return new(McpHeaders.ProtocolVersion, $"Protocol version {version} requires params._meta[\"io.modelcontextprotocol/protocolVersion\"] in the body, equal to the header.");
        }

        return null;
    }

    private static McpHeaderMismatch? CheckName(JsonRpcMessage message, bool modern, string? version, string? header)
    {
        // What Mcp-Name mirrors: params.name or params.uri for the three decided methods; for any other method that
        // carries one of the two (resources/subscribe's uri, say), that value, so the header never says what the body does not.
        var expected = message.KnownMethod switch
        {
            McpMethod.ToolsCall or McpMethod.PromptsGet => message.Name,
            McpMethod.ResourcesRead => message.Uri,
            _ => StringParam(message, "name"u8) ?? StringParam(message, "uri"u8),
        };

        if (header is null)
        {
            return modern && message.CarriesCapability
                ? new(McpHeaders.Name, $"Protocol version {version} requires the Mcp-Name header on {message.Method}.")
                : null;
        }

        if (!TryDecode(header, out var decoded))
        {
            return new(McpHeaders.Name, "Mcp-Name is not valid: bad characters or a malformed =?base64?...?= value.");
        }

        if (expected is null)
        {
            return new(McpHeaders.Name, $"Mcp-Name is sent, but {message.Method} names no tool, prompt or resource in its body.");
        }

        return string.Equals(decoded, expected, StringComparison.Ordinal)
            ? null
            : new(McpHeaders.Name, $"Mcp-Name \"{Printable(decoded)}\" does not match the body's \"{Printable(expected)}\".");
    }

    private static McpHeaderMismatch? CheckParams(IHeaderDictionary headers, JsonRpcMessage message, bool modern, string? version, McpToolHeaders toolHeaders)
    {
        foreach (var annotation in toolHeaders.Headers)
        {
            var present = headers.TryGetValue(annotation.HeaderName, out var values) && values.Count > 0;
            if (present && values.Count > 1)
            {
                return new(annotation.HeaderName, $"{annotation.HeaderName} is sent more than once.");
            }

            var argument = Lookup(message.Arguments, annotation.Path);
            if (argument is not { } value || value.ValueKind == JsonValueKind.Null)
            {
                if (present)
                {
                    return new(annotation.HeaderName, $"{annotation.HeaderName} is sent, but the body has no arguments.{annotation.DottedPath} for it to mirror.");
                }

                continue;
            }

            if (!present)
            {
                if (modern)
                {
                    return new(annotation.HeaderName, $"Protocol version {version} requires {annotation.HeaderName}, which mirrors arguments.{annotation.DottedPath} of tool {message.Name}.");
                }

                continue;
            }

            if (!TryDecode(values[0]!, out var decoded))
            {
                return new(annotation.HeaderName, $"{annotation.HeaderName} is not valid: bad characters or a malformed =?base64?...?= value.");
            }

            if (!Matches(decoded, value))
            {
                // The values are the caller's arguments: named, never echoed, as a refusal may be logged.
                return new(annotation.HeaderName, $"{annotation.HeaderName} does not match arguments.{annotation.DottedPath} in the body.");
            }
        }

        return null;
    }

    private static bool Matches(string header, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => string.Equals(header, value.GetString(), StringComparison.Ordinal),
        JsonValueKind.True => header == "true",
        JsonValueKind.False => header == "false",
        // MCP: compare integers numerically, so 42 and 42.0 agree.
        JsonValueKind.Number => value.TryGetDecimal(out var number)
            && decimal.TryParse(header, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var mirrored)
            && number == mirrored,
        _ => false,
    };

    private static JsonElement? Lookup(JsonElement? arguments, IReadOnlyList<string> path)
    {
        if (arguments is not { } current)
        {
            return null;
        }

        foreach (var key in path)
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(key, out current))
            {
                return null;
            }
        }

        return current;
    }

    private static string? StringParam(JsonRpcMessage message, ReadOnlySpan<byte> name)
    {
        if (message.Params is { } parameters && parameters.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
        {
            try
            {
                return value.GetString();
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }

        return null;
    }

    private static McpHeaderMismatch? Single(IHeaderDictionary headers, string name, out string? value)
    {
        value = null;
        if (!headers.TryGetValue(name, out var values) || values.Count == 0)
        {
            return null;
        }

        if (values.Count > 1)
        {
            return new(name, $"{name} is sent more than once.");
        }

        value = values[0];
        return null;
    }

    private static string? FirstParamHeader(IHeaderDictionary headers)
    {
        foreach (var header in headers)
        {
            if (header.Key.StartsWith(McpHeaders.ParamPrefix, StringComparison.OrdinalIgnoreCase))
            {
                return header.Key;
            }
        }

        return null;
    }

    /// <summary>Decodes an <c>Mcp-Name</c> / <c>Mcp-Param-*</c> value: plain visible ASCII, or the Base64 sentinel form.</summary>
    internal static bool TryDecode(string value, out string decoded)
    {
        decoded = value;
        foreach (var c in value)
        {
            if (c is not ('\t' or (>= ' ' and <= '~')))
            {
                return false;
            }
        }

        if (!value.StartsWith(Base64Prefix, StringComparison.Ordinal) || !value.EndsWith(Base64Suffix, StringComparison.Ordinal)
            || value.Length < Base64Prefix.Length + Base64Suffix.Length)
        {
            return true;
        }

        var encoded = value.AsSpan(Base64Prefix.Length, value.Length - Base64Prefix.Length - Base64Suffix.Length);
        var bytes = new byte[(encoded.Length * 3 / 4) + 3];
        if (!Convert.TryFromBase64Chars(encoded, bytes, out var written))
        {
            return false;
        }

        try
        {
            decoded = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes, 0, written);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    private static string Printable(string value) => value.Length <= 80 ? value : string.Concat(value.AsSpan(0, 80), "...");
}
