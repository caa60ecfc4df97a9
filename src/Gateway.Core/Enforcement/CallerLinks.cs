using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gateway.Enforcement;

/// <summary>
/// What the caller says caused a call: the prompt's digest (header <c>Gateway-Prompt-Sha256</c>) and the conversation
/// (W3C baggage member <c>gen_ai.conversation.id</c>). Claims, not facts: checked for shape so the audit trail holds no
/// free text, recorded as sent, and never read by any decision.
/// </summary>
public readonly record struct CallerLinks
{
    /// <summary>The baggage member OpenTelemetry's GenAI conventions name for a conversation (thread, session).</summary>
    public const string ConversationBaggageKey = "gen_ai.conversation.id";

    /// <summary>The longest conversation id recorded, in characters after percent-decoding; longer is malformed.</summary>
    public const int MaxConversationIdLength = 128;

    // The W3C limit for a whole baggage header; a longer one is not scanned at all.
    private const int MaxBaggageLength = 8192;

    /// <summary>The prompt digest as sent, or null when absent or malformed.</summary>
    public string? PromptSha256 { get; init; }

    /// <summary>The conversation id, percent-decoded, or null when absent or malformed.</summary>
    public string? ConversationId { get; init; }

    /// <summary>A <c>Gateway-Prompt-Sha256</c> header was sent but is not one value of 64 lowercase hex digits.</summary>
    public bool PromptMalformed { get; init; }

    /// <summary>A <c>gen_ai.conversation.id</c> member was sent but is empty, too long, badly encoded or holds other characters.</summary>
    public bool ConversationMalformed { get; init; }

    /// <summary>The request's headers were read (so a later reader, after the headers were stripped, does not read nothing).</summary>
    public bool Captured { get; init; }

    public bool IsEmpty => PromptSha256 is null && ConversationId is null && !PromptMalformed && !ConversationMalformed;

    /// <summary>Reads both claims; with neither header present (the common case) it allocates nothing.</summary>
    public static CallerLinks Read(IHeaderDictionary headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var prompt = headers[GatewayHeaders.PromptSha256];
        var baggage = headers[GatewayHeaders.Baggage];
        if (prompt.Count == 0 && baggage.Count == 0)
        {
            return new CallerLinks { Captured = true };
        }

        string? promptSha256 = null;
        var promptMalformed = false;
        if (prompt.Count > 0)
        {
            if (prompt.Count == 1 && IsSha256Hex(prompt[0]))
            {
                promptSha256 = prompt[0];
            }
            else
            {
                promptMalformed = true;
            }
        }

        var conversationMalformed = false;
        var conversationId = baggage.Count > 0 ? FindConversation(baggage, out conversationMalformed) : null;
        return new CallerLinks
        {
            PromptSha256 = promptSha256,
            ConversationId = conversationId,
            PromptMalformed = promptMalformed,
            ConversationMalformed = conversationMalformed,
            Captured = true,
        };
    }

    /// <summary>Exactly 64 lowercase hex digits: what <c>sha256sum</c> and <c>Convert.ToHexStringLower</c> print.</summary>
    public static bool IsSha256Hex(string? value)
    {
        if (value is not { Length: 64 })
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A conversation id the trail may hold: 1 to <see cref="MaxConversationIdLength"/> characters of letters, digits and
    /// <c>- . _ ~ : @ + = /</c> (UUIDs, vendors' <c>conv_...</c> ids, URNs), so no free text or control character gets in.
    /// </summary>
    public static bool IsConversationId(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value.Length > MaxConversationIdLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '.' or '_' or '~' or ':' or '@' or '+' or '=' or '/'))
            {
                return false;
            }
        }

        return true;
    }

    // W3C Baggage: list-member *( "," list-member ), list-member = key "=" value *( ";" property ), optional whitespace
    // around each part, values percent-encoded. Several headers are one list. The first member with the key wins.
    private static string? FindConversation(StringValues headers, out bool malformed)
    {
        malformed = false;
        var total = 0;
        foreach (var header in headers)
        {
            total += header?.Length ?? 0;
        }

        if (total > MaxBaggageLength)
        {
            return null;
        }

        foreach (var header in headers)
        {
            var rest = (header ?? "").AsSpan();
            while (!rest.IsEmpty)
            {
                var comma = rest.IndexOf(',');
                var member = comma < 0 ? rest : rest[..comma];
                rest = comma < 0 ? [] : rest[(comma + 1)..];
                var equals = member.IndexOf('=');
                if (equals < 0 || !member[..equals].Trim(" \t").SequenceEqual(ConversationBaggageKey))
                {
                    continue;
                }

                var value = member[(equals + 1)..];
                var semicolon = value.IndexOf(';');
                value = (semicolon < 0 ? value : value[..semicolon]).Trim(" \t");
                if (!value.Contains('%'))
                {
                    if (IsConversationId(value))
                    {
                        return value.ToString();
                    }
                }
                else if (Decode(value) is { } decoded && IsConversationId(decoded))
                {
                    return decoded;
                }

                malformed = true;
                return null;
            }
        }

        return null;
    }

    // Strict percent-decoding (a '%' must start two hex digits); null for anything else, or for a decoded value longer than allowed.
    private static string? Decode(ReadOnlySpan<char> value)
    {
        if (value.Length > 3 * MaxConversationIdLength)
        {
            return null;
        }

        Span<byte> bytes = stackalloc byte[value.Length];
        var length = 0;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '%')
            {
                if (i + 2 >= value.Length || !byte.TryParse(value.Slice(i + 1, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out var b))
                {
                    return null;
                }

                bytes[length++] = b;
                i += 2;
            }
            else if (c > 0x7E)
            {
                return null;
            }
            else
            {
                bytes[length++] = (byte)c;
            }
        }

        return System.Text.Encoding.ASCII.GetString(bytes[..length]);
    }
}
