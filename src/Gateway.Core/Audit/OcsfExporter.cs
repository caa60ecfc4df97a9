using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Gateway.Tokens;

namespace Gateway.Audit;

/// <summary>
/// Audit events as OCSF 1.3 API Activity (class_uid 6003) JSON lines, so a SIEM takes them as they
/// are (<c>gateway audit export --format ocsf</c>). The mapping is documented in docs/audit.md;
/// whatever OCSF has no attribute for goes to <c>unmapped</c>, so nothing of the event is lost.
/// </summary>
public static class OcsfExporter
{
    public const string SchemaVersion = "1.3.0";
    public const int CategoryUid = 6;
    public const int ClassUid = 6003;

    // The file is read by machines, never embedded in HTML, so characters stay readable.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>OCSF API Activity <c>activity_id</c> for an HTTP method: Create 1, Read 2, Update 3, Delete 4, Other 99.</summary>
    public static int ActivityId(string? method) => method?.ToUpperInvariant() switch
    {
        "POST" => 1,
        "GET" or "HEAD" => 2,
        "PUT" or "PATCH" => 3,
        "DELETE" => 4,
        _ => 99,
    };

    /// <summary>Converts every line of <paramref name="files"/>, in order, into one OCSF JSON line each on <paramref name="output"/>.</summary>
    /// <returns>The number of events written.</returns>
    /// <exception cref="FormatException">A line is not an audit event; the message names its file and line.</exception>
    public static async Task<long> ExportAsync(IEnumerable<string> files, Stream output, OcsfExportOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(output);
        options ??= new OcsfExportOptions();
        long count = 0;
        foreach (var file in files)
        {
            await using var input = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            long number = 0;
            foreach (var line in LineReader.ReadLines(input))
            {
                number++;
                AuditEvent auditEvent;
                try
                {
                    auditEvent = AuditEventSerializer.Parse(line);
                }
                catch (FormatException ex)
                {
                    throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{file}:{number}: {ex.Message}"), ex);
                }

                await output.WriteAsync(ToJson(auditEvent, options), cancellationToken);
                output.WriteByte((byte)'\n');
                count++;
            }
        }

        await output.FlushAsync(cancellationToken);
        return count;
    }

    /// <summary>One event as OCSF JSON (UTF-8, no newline).</summary>
    public static byte[] ToJson(AuditEvent auditEvent, OcsfExportOptions? options = null)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            Write(auditEvent, json, options);
        }

        return buffer.ToArray();
    }

    public static void Write(AuditEvent auditEvent, Utf8JsonWriter json, OcsfExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        ArgumentNullException.ThrowIfNull(json);
        options ??= new OcsfExportOptions();
        var method = auditEvent.Request?.Method;
        var activityId = ActivityId(method);
        var success = auditEvent.Decision is AuditDecision.Allow or AuditDecision.ShadowDeny
            || (auditEvent.Decision == AuditDecision.Admin && auditEvent.Status is null or < 400);
        var (severityId, severity) = auditEvent.Decision switch
        {
            AuditDecision.Deny => (3, "Medium"),
            AuditDecision.ShadowDeny => (2, "Low"),
            _ => (1, "Informational"),
        };

        json.WriteStartObject();
        json.WriteNumber("activity_id", activityId);
        json.WriteString("activity_name", ActivityName(activityId));
        json.WriteNumber("category_uid", CategoryUid);
        json.WriteString("category_name", "Application Activity");
        json.WriteNumber("class_uid", ClassUid);
        json.WriteString("class_name", "API Activity");
        json.WriteNumber("type_uid", (ClassUid * 100) + activityId);
        json.WriteString("type_name", "API Activity: " + ActivityName(activityId));
        json.WriteNumber("time", auditEvent.Time.ToUnixTimeMilliseconds());
        json.WriteNumber("severity_id", severityId);
        json.WriteString("severity", severity);
        json.WriteNumber("status_id", success ? 1 : 2);
        json.WriteString("status", success ? "Success" : "Failure");
        if (auditEvent.Error is { } error)
        {
            json.WriteString("status_code", error);
        }

        json.WriteString("status_detail", StatusDetail(auditEvent));
        json.WriteString("message", Message(auditEvent));

        WriteActor(json, auditEvent);
        WriteApi(json, auditEvent);
        if (auditEvent.Token is { } token)
        {
            // The event holds no network address (the contract keeps none); the calling agent is the source.
            json.WriteStartObject("src_endpoint");
            json.WriteString("uid", token.Agent);
            json.WriteEndObject();
        }

        if (auditEvent.Request is { } request)
        {
            json.WriteStartObject("http_request");
            json.WriteString("http_method", request.Method);
            json.WriteStartObject("url");
            json.WriteString("path", request.Path);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        if (auditEvent.Outcome is { } outcome)
        {
            // Seen from the agent (the source): what the upstream sent back came in to it.
            if (outcome.Status is { } upstreamStatus)
            {
                json.WriteStartObject("http_response");
                json.WriteNumber("code", upstreamStatus);
                json.WriteNumber("length", outcome.Bytes);
                json.WriteNumber("latency", outcome.DurationMs);
                json.WriteEndObject();
            }

            json.WriteStartObject("traffic");
            json.WriteNumber("bytes_in", outcome.Bytes);
            json.WriteEndObject();
        }

        WriteResources(json, auditEvent);
        WriteMetadata(json, auditEvent, options);
        WriteUnmapped(json, auditEvent);
        json.WriteEndObject();
    }

    private static string ActivityName(int activityId) => activityId switch
    {
        1 => "Create",
        2 => "Read",
        3 => "Update",
        4 => "Delete",
        _ => "Other",
    };

    private static string StatusDetail(AuditEvent auditEvent) => auditEvent.Decision switch
    {
        AuditDecision.Allow => "allow",
        AuditDecision.Deny => "deny: " + auditEvent.Error,
        AuditDecision.ShadowDeny => "shadow_deny: would have refused with " + auditEvent.Error + "; forwarded (shadow mode)",
        _ => "admin: " + auditEvent.Admin?.Action,
    };

    private static string Message(AuditEvent auditEvent)
    {
        if (auditEvent.Decision == AuditDecision.Admin)
        {
            return $"admin {auditEvent.Admin?.Action} {auditEvent.Admin?.Target}".TrimEnd();
        }

        var what = auditEvent.Action is null ? $"{auditEvent.Request?.Method} {auditEvent.Request?.Path}" : $"{auditEvent.Action} on {auditEvent.Resource}";
        var by = auditEvent.Token is { } token ? $" by {token.Agent} for {token.Subject}" : "";
        var why = auditEvent.Error is null ? "" : $" ({auditEvent.Error})";
        return $"{auditEvent.Decision.ToWire()} {what}{by}{why}";
    }

    private static void WriteActor(Utf8JsonWriter json, AuditEvent auditEvent)
    {
        json.WriteStartObject("actor");
        if (auditEvent.Token is { } token)
        {
            json.WriteStartObject("user");
            json.WriteString("uid", token.Subject);
            json.WriteNumber("type_id", 1);
            json.WriteString("type", "User");
            json.WriteEndObject();
            json.WriteString("app_uid", token.Agent);
            json.WriteString("app_name", token.Agent);
            json.WriteStartObject("session");
            json.WriteString("credential_uid", token.Jti);
            json.WriteString("issuer", token.Issuer);
            json.WriteEndObject();
            json.WriteStartObject("idp");
            json.WriteString("name", token.Issuer);
            json.WriteEndObject();
        }
        else if (auditEvent.Admin is { KeyId: { } keyId })
        {
            json.WriteStartObject("user");
            json.WriteString("uid", "admin-key:" + keyId);
            json.WriteNumber("type_id", 2);
            json.WriteString("type", "Admin");
            json.WriteEndObject();
        }

        json.WriteStartArray("authorizations");
        json.WriteStartObject();
        json.WriteString("decision", auditEvent.Decision.ToWire());
        json.WriteStartObject("policy");
        if (auditEvent.Route is { } route)
        {
            json.WriteString("name", route);
        }

        if (auditEvent.PolicySha256 is { } policy)
        {
            json.WriteString("uid", policy);
        }

        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteApi(Utf8JsonWriter json, AuditEvent auditEvent)
    {
        json.WriteStartObject("api");
        json.WriteString("operation", auditEvent.Action ?? auditEvent.Admin?.Action ?? auditEvent.Request?.Method ?? "unknown");
        if (Service(auditEvent.Action) is { } service)
        {
            json.WriteStartObject("service");
            json.WriteString("name", service);
            json.WriteEndObject();
        }

        json.WriteStartObject("request");
        json.WriteString("uid", auditEvent.EventId);
        json.WriteEndObject();
        if (auditEvent.Status is { } status)
        {
            json.WriteStartObject("response");
            json.WriteNumber("code", status);
            if (auditEvent.Error is { } error)
            {
                json.WriteString("error", error);
            }

            json.WriteEndObject();
        }

        json.WriteEndObject();
    }

    private static void WriteResources(Utf8JsonWriter json, AuditEvent auditEvent)
    {
        var uid = auditEvent.Resource ?? auditEvent.Admin?.Target;
        if (uid is null)
        {
            return;
        }

        json.WriteStartArray("resources");
        json.WriteStartObject();
        json.WriteString("uid", uid);
        json.WriteString("type", auditEvent.Resource is null ? "gateway:" + AdminObject(auditEvent.Admin!.Action) : ResourceType(uid));
        json.WriteEndObject();
        json.WriteEndArray();
    }

    private static void WriteMetadata(Utf8JsonWriter json, AuditEvent auditEvent, OcsfExportOptions options)
    {
        json.WriteStartObject("metadata");
        json.WriteString("version", SchemaVersion);
        json.WriteStartObject("product");
        json.WriteString("name", "Gateway");
        json.WriteString("vendor_name", options.VendorName);
        if (options.ProductVersion is { } version)
        {
            json.WriteString("version", version);
        }

        json.WriteEndObject();
        json.WriteString("uid", auditEvent.EventId);
        if (auditEvent.TraceId is { } traceId)
        {
            json.WriteString("correlation_uid", traceId);
        }

        json.WriteString("log_name", "decisions");
        json.WriteString("original_time", AuditEventSerializer.FormatTime(auditEvent.Time));
        json.WriteEndObject();
    }

    private static void WriteUnmapped(Utf8JsonWriter json, AuditEvent auditEvent)
    {
        json.WriteStartObject("unmapped");
        json.WriteString("decision", auditEvent.Decision.ToWire());
        json.WriteString("replica", auditEvent.Replica);
        json.WriteNumber("seq", auditEvent.Seq);
        json.WriteString("prev_hash", auditEvent.PrevHash);
        json.WriteString("hash", auditEvent.Hash);
        if (auditEvent.SpanId is { } spanId)
        {
            json.WriteString("span_id", spanId);
        }

        if (auditEvent.Tier is { } tier)
        {
            json.WriteString("tier", tier);
        }

        if (auditEvent.Risk is { } risk)
        {
            json.WriteNumber("risk", risk);
        }

        if (auditEvent.Budget is { } budget)
        {
            json.WriteStartObject("budget");
            WriteNumberOrNull(json, "steps_left", budget.StepsLeft);
            WriteNumberOrNull(json, "risk_left", budget.RiskLeft);
            json.WriteEndObject();
        }

        if (auditEvent.Token is { } token)
        {
            json.WriteStartObject("token");
            json.WriteStartArray("chain");
            foreach (var jti in token.Chain)
            {
                json.WriteStringValue(jti);
            }

            json.WriteEndArray();
            json.WriteString("intent", IntentMethods.ToClaimValue(token.Intent));
            json.WriteEndObject();
        }

        if (auditEvent.Request?.BodySha256 is { } bodySha256)
        {
            json.WriteString("body_sha256", bodySha256);
        }

        if (auditEvent.Outcome is { } outcome)
        {
            json.WriteStartObject("outcome");
            WriteNumberOrNull(json, "status", outcome.Status);
            json.WriteNumber("bytes", outcome.Bytes);
            json.WriteString("body_sha256", outcome.BodySha256);
            json.WriteNumber("duration_ms", outcome.DurationMs);
            json.WriteBoolean("complete", outcome.Complete);
            json.WriteString("error", outcome.Error);
            json.WriteEndObject();
        }

        if (auditEvent.Links is { } links)
        {
            json.WriteStartObject("links");
            json.WriteString("prompt_sha256", links.PromptSha256);
            json.WriteString("conversation_id", links.ConversationId);
            WriteNumberOrNull(json, "grant", links.Grant);
            json.WriteString("intent_evidence", links.IntentEvidence);
            WriteStrings(json, "claimed", links.Claimed);
            WriteStrings(json, "malformed", links.Malformed);
            json.WriteEndObject();
        }

        if (auditEvent.Admin is { } admin)
        {
            json.WriteStartObject("admin");
            json.WriteString("action", admin.Action);
            json.WriteString("target", admin.Target);
            json.WriteString("key_id", admin.KeyId);
            json.WriteEndObject();
        }

        json.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter json, string name, IReadOnlyList<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    private static void WriteNumberOrNull(Utf8JsonWriter json, string name, int? value)
    {
        if (value is { } number)
        {
            json.WriteNumber(name, number);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    /// <summary><c>crm.customers:read</c> → <c>crm</c>.</summary>
    private static string? Service(string? action)
    {
        if (action is null)
        {
            return null;
        }

        var end = action.AsSpan().IndexOfAny('.', ':');
        return end > 0 ? action[..end] : null;
    }

    /// <summary><c>crm:customer/42</c> → <c>crm:customer</c>: the service and type, without the id.</summary>
    private static string ResourceType(string resource)
    {
        var slash = resource.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 ? resource[..slash] : resource;
    }

    /// <summary><c>revocation.create</c> → <c>revocation</c>.</summary>
    private static string AdminObject(string action)
    {
        var dot = action.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 ? action[..dot] : action;
    }
}
