using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Gateway.Policy;
using Gateway.Tokens;

namespace Gateway.Audit;

/// <summary>
/// Audit events as JSON lines: written directly in RFC 8785 canonical form (members in canonical
/// order, every member present), and read back for export.
/// </summary>
public static class AuditEventSerializer
{
    /// <summary>RFC 3339, UTC, always three fractional digits, so the text (and so the hash) of a time is unique.</summary>
    public const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    /// <summary>
    /// Writes the canonical JSON of <paramref name="auditEvent"/> without its <c>hash</c> member, with the
    /// given chain members in place of the event's own, and returns the offset (from where this call
    /// started writing) at which <c>,"hash":"…"</c> belongs, so the writer can splice the hash in
    /// without serializing twice.
    /// </summary>
    /// <remarks>The members below are written in RFC 8785 order by hand; a test holds this to <see cref="JsonCanonicalizer"/>.</remarks>
    internal static int WriteWithoutHash(AuditEvent auditEvent, string replica, long seq, string prevHash, ArrayBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        ArgumentNullException.ThrowIfNull(output);
        var start = output.WrittenCount;
        var json = new CanonicalJsonWriter(output);
        json.StartObject();
        json.Member("action", auditEvent.Action);
        WriteAdmin(json, auditEvent.Admin);
        WriteBudget(json, auditEvent.Budget);
        json.Member("decision", auditEvent.Decision.ToWire());
        json.Member("error", auditEvent.Error);
        json.Member("event_id", auditEvent.EventId);
        var hashOffset = output.WrittenCount - start;
        WriteLinks(json, auditEvent.Links);
        WriteMcp(json, auditEvent.Mcp);
        WriteOutcome(json, auditEvent.Outcome);
        json.Member("policy_sha256", auditEvent.PolicySha256);
        json.Member("prev_hash", prevHash);
        json.Member("reason", auditEvent.Reason);
        json.Member("replica", replica);
        WriteRequest(json, auditEvent.Request);
        json.Member("resource", auditEvent.Resource);
        json.Member("risk", auditEvent.Risk);
        json.Member("route", auditEvent.Route);
        json.Member("seq", seq);
        json.Member("span_id", auditEvent.SpanId);
        json.Member("status", auditEvent.Status);
        json.Member("tier", auditEvent.Tier);
        json.Member("time", FormatTime(auditEvent.Time));
        WriteToken(json, auditEvent.Token);
        json.Member("trace_id", auditEvent.TraceId);
        WriteCredential(json, auditEvent.UpstreamCredential);
        json.EndObject();
        return hashOffset;
    }

    /// <summary>The event's complete canonical JSON line (without newline), chain members as the event holds them.</summary>
    public static byte[] ToCanonicalJson(AuditEvent auditEvent)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        var body = new ArrayBufferWriter<byte>(1024);
        var offset = WriteWithoutHash(auditEvent, auditEvent.Replica ?? "", auditEvent.Seq, auditEvent.PrevHash ?? AuditChain.GenesisHash, body);
        var line = new ArrayBufferWriter<byte>(body.WrittenCount + 80);
        AuditChain.SpliceHash(body.WrittenSpan, offset, auditEvent.Hash ?? "", line);
        return line.WrittenSpan.ToArray();
    }

    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    /// <summary>Reads one JSON line back; members it does not know are ignored.</summary>
    /// <exception cref="FormatException">Not an audit event.</exception>
    public static AuditEvent Parse(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8Json);
            using var document = JsonDocument.ParseValue(ref reader);
            return Parse(document.RootElement);
        }
        catch (JsonException ex)
        {
            throw new FormatException("Not valid JSON: " + ex.Message, ex);
        }
    }

    /// <inheritdoc cref="Parse(ReadOnlySpan{byte})"/>
    public static AuditEvent Parse(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("An audit event is a JSON object.");
        }

        try
        {
            var decisionText = RequiredString(root, "decision");
            if (!AuditDecisions.TryParse(decisionText, out var decision))
            {
                throw new FormatException($"Unknown decision \"{decisionText}\".");
            }

            return new AuditEvent
            {
                EventId = RequiredString(root, "event_id"),
                Time = ParseTime(RequiredString(root, "time")),
                Decision = decision,
                Error = String(root, "error"),
                Reason = String(root, "reason"),
                Route = String(root, "route"),
                Action = String(root, "action"),
                Resource = String(root, "resource"),
                Tier = String(root, "tier"),
                Risk = Int32(root, "risk"),
                Token = ParseToken(root),
                Request = ParseRequest(root),
                Outcome = ParseOutcome(root),
                Links = ParseLinks(root),
                Status = Int32(root, "status"),
                Budget = ParseBudget(root),
                PolicySha256 = String(root, "policy_sha256"),
                TraceId = String(root, "trace_id"),
                SpanId = String(root, "span_id"),
                Admin = ParseAdmin(root),
                UpstreamCredential = TryGetObject(root, "upstream_credential", out var credential)
                    ? new AuditCredential { Kind = RequiredString(credential, "kind"), Id = RequiredString(credential, "id") }
                    : null,
                Mcp = TryGetObject(root, "mcp", out var mcp)
                    ? new AuditMcp { Method = RequiredString(mcp, "method"), Tool = String(mcp, "tool"), Id = String(mcp, "id"), ArgumentsSha256 = String(mcp, "arguments_sha256") }
                    : null,
                Replica = String(root, "replica"),
                Seq = Int64(root, "seq") ?? 0,
                PrevHash = String(root, "prev_hash"),
                Hash = String(root, "hash"),
            };
        }
        catch (InvalidOperationException ex)
        {
            // JsonElement throws this when a member has another type than expected.
            throw new FormatException("A member has the wrong type: " + ex.Message, ex);
        }
    }

    private static void WriteAdmin(CanonicalJsonWriter json, AuditAdmin? admin)
    {
        json.Name("admin");
        if (admin is null)
        {
            json.Null();
            return;
        }

        json.StartObject();
        json.Member("action", admin.Action);
        json.Member("key_id", admin.KeyId);
        json.Member("target", admin.Target);
        json.EndObject();
    }

    private static void WriteBudget(CanonicalJsonWriter json, AuditBudget? budget)
    {
        json.Name("budget");
        if (budget is null)
        {
            json.Null();
            return;
        }

        json.StartObject();
        json.Member("risk_left", budget.RiskLeft);
        json.Member("steps_left", budget.StepsLeft);
        json.EndObject();
    }

    // Only MCP messages have one, so other events stay as they were.
    private static void WriteMcp(CanonicalJsonWriter json, AuditMcp? mcp)
    {
        if (mcp is null)
        {
            return;
        }

        json.Name("mcp");
        json.StartObject();
        json.Member("arguments_sha256", mcp.ArgumentsSha256);
        json.Member("id", mcp.Id);
        json.Member("method", mcp.Method);
        json.Member("tool", mcp.Tool);
        json.EndObject();
    }

    private static void WriteCredential(CanonicalJsonWriter json, AuditCredential? credential)
    {
        json.Name("upstream_credential");
        if (credential is null)
        {
            json.Null();
            return;
        }

        json.StartObject();
        json.Member("id", credential.Id);
        json.Member("kind", credential.Kind);
        json.EndObject();
    }

    private static void WriteLinks(CanonicalJsonWriter json, AuditLinks? links)
    {
        json.Name("links");
        if (links is null)
        {
            json.Null();
            return;
        }

        json.StartObject();
        json.Name("claimed");
        StringArray(json, links.Claimed);
        json.Member("conversation_id", links.ConversationId);
        json.Member("grant", links.Grant);
        json.Member("intent_evidence", links.IntentEvidence);
        json.Name("malformed");
        StringArray(json, links.Malformed);
        json.Member("prompt_sha256", links.PromptSha256);
        json.EndObject();
    }

    private static void WriteOutcome(CanonicalJsonWriter json, AuditOutcome? outcome)
    {
        json.Name("outcome");
        if (outcome is null)
        {
            json.Null();
            return;
        }

        json.StartObject();
        json.Member("body_sha256", outcome.BodySha256);
        json.Member("bytes", outcome.Bytes);
        json.Name("complete");
        json.Boolean(outcome.Complete);
        json.Member("duration_ms", outcome.DurationMs);
        json.Member("error", outcome.Error);
        json.Member("status", outcome.Status);
        json.EndObject();
    }

    private static void WriteRequest(CanonicalJsonWriter json, AuditRequest? request)
    {
        json.Name("request");
        if (request is null)
        {
            json.Null();
            return;
        }

        json.StartObject();
        json.Member("body_sha256", request.BodySha256);
        json.Member("method", request.Method);
        json.Member("path", request.Path);
        json.EndObject();
    }

    private static void WriteToken(CanonicalJsonWriter json, AuditToken? token)
    {
        json.Name("token");
        if (token is null)
        {
            json.Null();
            return;
        }

        // The gateway hands every event of one validated token the same AuditToken (AuditEvents), so its
        // canonical text is written once and copied into each line after that.
        json.Raw(TokenJson.GetValue(token, static token =>
        {
            var buffer = new ArrayBufferWriter<byte>(256);
            WriteTokenObject(new CanonicalJsonWriter(buffer), token);
            return buffer.WrittenSpan.ToArray();
        }));
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<AuditToken, byte[]> TokenJson = [];

    private static void WriteTokenObject(CanonicalJsonWriter json, AuditToken token)
    {
        json.StartObject();
        json.Member("acr", token.Acr);
        json.Member("agent", token.Agent);
        json.Member("auth_time", token.AuthTime is { } authTime ? FormatTime(authTime) : null);
        json.Name("chain");
        StringArray(json, token.Chain);
        json.Member("exp", token.Expires is { } expires ? FormatTime(expires) : null);
        json.Name("grants");
        json.StartArray();
        foreach (var grant in token.Grants)
        {
            json.StartObject();
            json.Name("actions");
            StringArray(json, grant.Actions);
            json.Name("resources");
            StringArray(json, grant.Resources);
            json.EndObject();
        }

        json.EndArray();
        json.Member("iat", token.IssuedAt is { } issuedAt ? FormatTime(issuedAt) : null);
        json.Member("intent", IntentMethods.ToClaimValue(token.Intent));
        json.Member("iss", token.Issuer);
        json.Member("jti", token.Jti);
        json.Member("sub", token.Subject);
        json.EndObject();
    }

    private static void StringArray(CanonicalJsonWriter json, IReadOnlyList<string> values)
    {
        json.StartArray();

        // Indexed, not foreach: enumerating an array through IReadOnlyList boxes an enumerator, once per event for links.
        for (var i = 0; i < values.Count; i++)
        {
            json.String(values[i]);
        }

        json.EndArray();
    }

    private static List<string> ParseStrings(JsonElement parent, string name)
    {
        if (!parent.TryGetProperty(name, out var items) || items.ValueKind != JsonValueKind.Array)
        {
            return [];
        }

        var values = new List<string>(items.GetArrayLength());
        foreach (var item in items.EnumerateArray())
        {
            values.Add(item.GetString() ?? throw new FormatException($"{name} holds a null."));
        }

        return values;
    }

    private static List<AuditGrant> ParseGrants(JsonElement token)
    {
        var grants = new List<AuditGrant>();
        if (token.TryGetProperty("grants", out var items) && items.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in items.EnumerateArray())
            {
                grants.Add(new AuditGrant(ParseStrings(item, "actions"), ParseStrings(item, "resources")));
            }
        }

        return grants;
    }

    private static DateTimeOffset? OptionalTime(JsonElement parent, string name) =>
        String(parent, name) is { } text ? ParseTime(text) : null;

    private static AuditToken? ParseToken(JsonElement root)
    {
        if (!TryGetObject(root, "token", out var token))
        {
            return null;
        }

        var chain = new List<string>();
        if (token.TryGetProperty("chain", out var items) && items.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in items.EnumerateArray())
            {
                chain.Add(item.GetString() ?? throw new FormatException("token.chain holds a null."));
            }
        }

        var intentText = String(token, "intent");
        var intent = IntentMethod.Policy;
        if (intentText is not null && !IntentMethods.TryParse(intentText, out intent))
        {
            throw new FormatException($"Unknown token.intent \"{intentText}\".");
        }

        return new AuditToken
        {
            Jti = RequiredString(token, "jti"),
            Issuer = RequiredString(token, "iss"),
            Subject = RequiredString(token, "sub"),
            Agent = RequiredString(token, "agent"),
            Chain = chain,
            Intent = intent,
            Grants = ParseGrants(token),
            Acr = String(token, "acr"),
            AuthTime = OptionalTime(token, "auth_time"),
            IssuedAt = OptionalTime(token, "iat"),
            Expires = OptionalTime(token, "exp"),
        };
    }

    private static AuditRequest? ParseRequest(JsonElement root) =>
        TryGetObject(root, "request", out var request)
            ? new AuditRequest
            {
                Method = RequiredString(request, "method"),
                Path = RequiredString(request, "path"),
                BodySha256 = String(request, "body_sha256"),
            }
            : null;

    private static AuditOutcome? ParseOutcome(JsonElement root) =>
        TryGetObject(root, "outcome", out var outcome)
            ? new AuditOutcome
            {
                Status = Int32(outcome, "status"),
                Bytes = Int64(outcome, "bytes") ?? 0,
                BodySha256 = String(outcome, "body_sha256"),
                DurationMs = Int64(outcome, "duration_ms") ?? 0,
                Complete = outcome.TryGetProperty("complete", out var complete) && complete.GetBoolean(),
                Error = String(outcome, "error"),
            }
            : null;

    private static AuditLinks? ParseLinks(JsonElement root) =>
        TryGetObject(root, "links", out var links)
            ? new AuditLinks
            {
                PromptSha256 = String(links, "prompt_sha256"),
                ConversationId = String(links, "conversation_id"),
                Grant = Int32(links, "grant"),
                IntentEvidence = String(links, "intent_evidence"),
                Claimed = ParseStrings(links, "claimed"),
                Malformed = ParseStrings(links, "malformed"),
            }
            : null;

    private static AuditBudget? ParseBudget(JsonElement root) =>
        TryGetObject(root, "budget", out var budget)
            ? new AuditBudget { StepsLeft = Int32(budget, "steps_left"), RiskLeft = Int32(budget, "risk_left") }
            : null;

    private static AuditAdmin? ParseAdmin(JsonElement root) =>
        TryGetObject(root, "admin", out var admin)
            ? new AuditAdmin { Action = RequiredString(admin, "action"), Target = String(admin, "target"), KeyId = String(admin, "key_id") }
            : null;

    private static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? time
            : throw new FormatException($"time \"{text}\" is not an RFC 3339 date-time.");

    private static bool TryGetObject(JsonElement parent, string name, out JsonElement value) =>
        parent.TryGetProperty(name, out value) && value.ValueKind == JsonValueKind.Object;

    private static string RequiredString(JsonElement parent, string name) =>
        String(parent, name) ?? throw new FormatException($"Member \"{name}\" is missing.");

    private static string? String(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value.GetString() : null;

    private static int? Int32(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value.GetInt32() : null;

    private static long? Int64(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value.GetInt64() : null;
}
