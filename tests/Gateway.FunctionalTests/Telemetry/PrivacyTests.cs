using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Audit;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.Telemetry;

namespace Gateway.FunctionalTests.Telemetry;

/// <summary>
/// Issue 5, privacy: a recognisable token (a unique claim value) and a recognisable body pushed
/// through every path the gateway has (allowed, shadow, each refusal it can be made to give, an
/// approval with its redacted preview, a delegation, an upstream error), then every place the
/// gateway writes to is searched for them: all logs at every level, all spans with their
/// attributes and events, all metric points, the audit trail, and every response the agent got
/// (problem bodies, <c>WWW-Authenticate</c> and every other header).
/// </summary>
public sealed class PrivacyTests
{
    private const string Policy = """
        gateway:
          audience: {{AUDIENCE}}
          max_token_lifetime: 1h
          clock_skew: 30s
          max_delegation_depth: 2
        issuers:
          - issuer: {{ISSUER}}
            jwks_file: idp.jwks.json
            algorithms: [ES256]
          - issuer: https://gateway.test/delegation
            jwks_file: "{{DELEGATION_JWKS}}"
            algorithms: [ES256]
        delegation:
          issuer: https://gateway.test/delegation
          signing_key_file: "{{DELEGATION_KEY}}"
        tiers:
          low:      { risk: 1 }
          medium:   { risk: 5 }
          critical: { risk: 50, approval: required }
          huge:     { risk: 5000 }
        budgets:
          steps: { default: 50 }
          risk:  { limit: 1000, window: 24h, on_exceed: deny }
        approvals:
          max_body_bytes: 1024
        upstreams:
          crm: { destinations: [ {{UPSTREAM}} ] }
          dead: { destinations: [ "http://127.0.0.1:1" ] }
        routes:
          - id: crm-get-customer
            match: { methods: [GET], path: /crm/customers/{customerId} }
            upstream: crm
            action: crm.customers:read
            resource: crm:customer/{customerId}
            tier: low
          - id: crm-update-customer
            match: { methods: [PATCH], path: /crm/customers/{customerId} }
            upstream: crm
            action: crm.customers:update
            resource: crm:customer/{customerId}
            tier: medium
          - id: crm-export
            match: { methods: [POST], path: /crm/exports/{exportId} }
            upstream: crm
            action: crm.exports:create
            resource: crm:export/{exportId}
            tier: medium
            step_up: { acr: [ "urn:test:mfa" ], max_age: 5m }
          - id: crm-shadow
            match: { methods: [GET], path: /crm/shadow/{id} }
            upstream: crm
            action: crm.shadow:read
            resource: crm:shadow/{id}
            tier: low
            mode: shadow
          - id: payments-refund
            match: { methods: [POST], path: /payments/{paymentId}/refunds }
            upstream: crm
            action: payments.refunds:create
            resource: payments:payment/{paymentId}
            tier: critical
          - id: crm-wipe
            match: { methods: [POST], path: /crm/wipe/{id} }
            upstream: crm
            action: crm.wipe:run
            resource: crm:wipe/{id}
            tier: huge
          - id: dead-post
            match: { methods: [POST], path: /dead/{id} }
            upstream: dead
            action: dead.items:create
            resource: dead:item/{id}
            tier: low
        """;

    private readonly string _tokenMarker = "TOKMARK" + Guid.NewGuid().ToString("N");
    private readonly string _bodyMarker = "BODYMARK" + Guid.NewGuid().ToString("N");
    private readonly string _promptMarker = "PROMPTMARK" + Guid.NewGuid().ToString("N");
    private readonly string _conversationMarker = "CONVMARK" + Guid.NewGuid().ToString("N");
    private readonly string _sub = "user:privacy-" + Guid.NewGuid().ToString("N");
    private readonly List<string> _tokens = [];
    private readonly List<(string Path, string Text)> _answers = [];

    [Fact]
    public async Task EveryPath_TokenAndBodyMarkers_ReachNoLogSpanMetricAuditEventOrProblem()
    {
        using var folder = new AuditFolder();
        var capture = new TelemetryCapture();
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        var (delegationKey, delegationJwks) = Gateway.Tokens.KeyGenerator.Generate("ES256", "delegation-es256").WriteTo(folder.NewFolder("keys"), "delegation-es256");
        var policy = Policy
            .Replace("{{DELEGATION_JWKS}}", delegationJwks, StringComparison.Ordinal)
            .Replace("{{DELEGATION_KEY}}", delegationKey, StringComparison.Ordinal)
            + $"\naudit:\n  file: \"{folder.LiveFile}\"\n";
        var gateway = await TestGateway.StartAsync(issuer, upstream, policy, configure: capture.Configure);
        string approvalRecord;
        try
        {
            approvalRecord = await DriveEveryPathAsync(gateway, issuer);
            TelemetryCapture.Flush(gateway.Services);
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        // The paths were really taken: each kind of answer is there, and the trail verifies.
        var audit = string.Join('\n', Gateway.Audit.JsonLinesAuditSink.GetChainFiles(folder.LiveFile).Select(File.ReadAllText));
        var events = AuditTrail.ReadEvents(folder.LiveFile);
        var errors = events.SelectMany(e => new[] { e.GetProperty("decision").GetString(), e.GetProperty("error").GetString() }).ToHashSet();
        Assert.Superset(
            new HashSet<string?>
            {
                "allow", "shadow_deny", "insufficient_scope", "no_route", "invalid_request", "invalid_token", "delegation_denied",
                "insufficient_user_authentication", "approval_required", "content_too_large", "step_limit_exceeded",
                "risk_budget_exceeded", "admin",
            },
            errors);
        Assert.Contains(events, e => e.GetProperty("status").GetInt32() == 502);
        Assert.Contains(events, e => e.GetProperty("request").GetProperty("body_sha256").ValueKind == JsonValueKind.String);
        Assert.True(Gateway.Audit.AuditVerifier.Verify(Gateway.Audit.JsonLinesAuditSink.GetChainFiles(folder.LiveFile)).IsValid);

        // The markers did cross the gateway (the body to the upstream), and the capture saw framework
        // logs below the gateway's own Warning filter, so an empty search means something.
        Assert.Contains(upstream.Received, r => Encoding.UTF8.GetString(r.Body).Contains(_bodyMarker, StringComparison.Ordinal));
        Assert.Contains(capture.Logs.Entries.Snapshot(), l => l.Level <= Microsoft.Extensions.Logging.LogLevel.Debug && l.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        var logs = capture.Logs.Entries.Snapshot().Select(l => l.ToString()).ToList();
        var spans = capture.Spans.Snapshot().Select(TelemetryCapture.Describe).ToList();
        var metrics = capture.Metrics.Snapshot().SelectMany(TelemetryCapture.Describe).ToList();
        Assert.NotEmpty(logs);
        Assert.Contains(logs, l => l.Contains("Decision ", StringComparison.Ordinal));
        Assert.Contains(metrics, m => m.StartsWith(GatewayTelemetry.DecisionsInstrument, StringComparison.Ordinal));

        var secrets = Secrets();
        AssertNone("log", logs, secrets);
        // The agent's baggage rides along in each span's Activity.Baggage (in-process context, not span data: no exporter
        // writes it), so the conversation marker is looked for in the spans' own data only.
        AssertNone("span", spans, [.. secrets.Where(s => s != _conversationMarker)]);
        AssertNone("span", spans.Select(s => s.Split(" baggage:")[0]), [_conversationMarker]);
        AssertNone("metric", metrics, secrets);
        AssertNone("audit trail", [audit], secrets);
        AssertNone("answer to the agent", _answers.Select(a => $"{a.Path}: {a.Text}"), secrets);
        // baggage is the agent's to send on, so the prompt text it carries reaches the upstream; Gateway-Prompt-Sha256 does not.
        AssertNone("request to the upstream", upstream.Received.Select(r => string.Join('\n', r.Headers.Select(h => $"{h.Key}: {h.Value}"))), [.. secrets.Where(s => s != _bodyMarker && s != _conversationMarker)]);
        Assert.DoesNotContain(upstream.Received, r => r.Headers.ContainsKey("Gateway-Prompt-Sha256"));
        Assert.Contains(events, e => e.TryGetProperty("links", out var links) && links.ValueKind == JsonValueKind.Object && links.GetProperty("malformed").GetArrayLength() == 2);

        // The approval record may show a preview, redacted: the marker sat in a redacted field.
        AssertNone("approval record", [approvalRecord], secrets);
        Assert.Contains("[redacted]", approvalRecord, StringComparison.Ordinal);

        // sub reaches telemetry as a pseudonym only (telemetry.raw_subject is off).
        AssertNone("span", spans, [_sub]);
        AssertNone("metric", metrics, [_sub]);
        AssertNone("log", logs, [_sub]);
        Assert.Contains(capture.Spans.Snapshot(), s => Equals(s.GetTagItem(GatewayAttributes.EndUserId), TracingTests.Pseudonym(_sub)));
        Assert.Contains(_sub, audit, StringComparison.Ordinal);
    }

    /// <summary>Sends a call down every path; returns the approval record as the admin API shows it.</summary>
    private async Task<string> DriveEveryPathAsync(TestGateway gateway, TestIssuer issuer)
    {
        var token = Mint(issuer, Claims(issuer));
        var body = $$"""{"note":"{{_bodyMarker}}","card_number":"{{_bodyMarker}}"}""";

        // Allowed, with and without a body; shadow-refused and forwarded.
        await CallAsync(gateway, HttpMethod.Get, "/crm/customers/42", token, expect: 200);
        await CallAsync(gateway, HttpMethod.Patch, "/crm/customers/42", token, body, expect: 200);
        await CallAsync(gateway, HttpMethod.Get, "/crm/shadow/1", token, expect: 200);

        // Refused before and after the token is read.
        await CallAsync(gateway, HttpMethod.Patch, "/crm/customers/7", token, body, expect: 403);
        await CallAsync(gateway, HttpMethod.Post, "/nowhere/at/all", token, body, expect: 404);
        await CallAsync(gateway, HttpMethod.Get, "/crm/customers/4%2F2", token, expect: 400);
        await CallAsync(gateway, HttpMethod.Patch, "/crm/customers/42", null, body, expect: 401);

        // Tokens the gateway must not accept, each carrying the marker.
        var badSignature = token[..^4] + (token[^4] == 'A' ? "B" : "A") + token[^3..];
        _tokens.Add(badSignature);
        await CallAsync(gateway, HttpMethod.Patch, "/crm/customers/42", badSignature, body, expect: 401);
        var expired = Claims(issuer);
        expired["iat"] = DateTimeOffset.UtcNow.AddHours(-2).ToUnixTimeSeconds();
        expired["exp"] = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds();
        await CallAsync(gateway, HttpMethod.Get, "/crm/customers/42", Mint(issuer, expired), expect: 401);
        var otherAudience = Claims(issuer);
        otherAudience["aud"] = "https://elsewhere.test/" + _tokenMarker;
        await CallAsync(gateway, HttpMethod.Get, "/crm/customers/42", Mint(issuer, otherAudience), expect: 401);
        var garbage = _tokenMarker + ".not-a." + _tokenMarker;
        _tokens.Add(garbage);
        await CallAsync(gateway, HttpMethod.Get, "/crm/customers/42", garbage, expect: 401);
        var oversized = Claims(issuer);
        oversized["padding"] = string.Concat(Enumerable.Repeat(_tokenMarker, 70 * 1024 / _tokenMarker.Length));
        await CallAsync(gateway, HttpMethod.Get, "/crm/customers/42", Mint(issuer, oversized), expect: 401);
        await CallAsync(gateway, HttpMethod.Get, "/crm/customers/42", token, expect: 401, scheme: "DPoP");
        var bound = Claims(issuer);
        bound["cnf"] = new JsonObject { ["jkt"] = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" };
        await CallAsync(gateway, HttpMethod.Get, "/crm/customers/42", Mint(issuer, bound), expect: 401);
        var deep = Claims(issuer);
        deep["act"] = new JsonObject { ["sub"] = "agent:c", ["act"] = new JsonObject { ["sub"] = "agent:b", ["act"] = new JsonObject { ["sub"] = "agent:a" } } };
        await CallAsync(gateway, HttpMethod.Patch, "/crm/customers/42", Mint(issuer, deep), body, expect: 403);

        // Step-up, budgets, a request too large to digest for an approval.
        await CallAsync(gateway, HttpMethod.Post, "/crm/exports/1", token, body, expect: 401);
        var oneStep = Claims(issuer);
        oneStep["cap"] = new JsonObject { ["max_steps"] = 1 };
        var oneStepToken = Mint(issuer, oneStep);
        await CallAsync(gateway, HttpMethod.Patch, "/crm/customers/42", oneStepToken, body, expect: 200);
        await CallAsync(gateway, HttpMethod.Patch, "/crm/customers/42", oneStepToken, body, expect: 403);
        await CallAsync(gateway, HttpMethod.Post, "/crm/wipe/1", token, body, expect: 403);
        await CallAsync(gateway, HttpMethod.Post, "/payments/p2/refunds", token, $$"""{"card_number":"{{string.Concat(Enumerable.Repeat(_bodyMarker, 40))}}"}""", expect: 413);

        // Approval: refused with an id, the record's preview redacted, approved, retried once.
        var refund = $$"""{"amount":5,"card_number":"{{_bodyMarker}}","cvv":"{{_bodyMarker}}"}""";
        var asked = JsonDocument.Parse(await CallAsync(gateway, HttpMethod.Post, "/payments/p1/refunds", token, refund, expect: 403)).RootElement;
        var approvalId = asked.GetProperty("approval_id").GetString()!;
        using var record = await gateway.AdminSendAsync(HttpMethod.Get, $"/approvals/{approvalId}");
        var approvalRecord = await record.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, record.StatusCode);
        using var approved = await gateway.AdminSendAsync(HttpMethod.Post, $"/approvals/{approvalId}/approve", new StringContent("{\"note\":\"ok\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        await CallAsync(gateway, HttpMethod.Post, "/payments/p1/refunds", token, refund, expect: 200, approvalId: approvalId);

        // The upstream down: an error after the decision.
        await CallAsync(gateway, HttpMethod.Post, "/dead/1", token, body, expect: 502);

        // Delegation (the response carries the child token by design; nothing else may).
        var delegation = new JsonObject
        {
            ["subject_token"] = token,
            ["actor"] = "agent:child",
            ["authorization_details"] = new JsonArray(new JsonObject
            {
                ["type"] = "agent_capability",
                ["actions"] = new JsonArray("crm.customers:read"),
                ["resources"] = new JsonArray("crm:customer/42"),
            }),
            ["expires_in"] = 300,
        };
        using var delegated = await gateway.AdminSendAsync(HttpMethod.Post, "/delegations", new StringContent(delegation.ToJsonString(), Encoding.UTF8, "application/json"));
        var delegatedText = await delegated.Content.ReadAsStringAsync();
        Assert.True(delegated.StatusCode == HttpStatusCode.OK, delegatedText);
        var child = JsonDocument.Parse(delegatedText).RootElement.GetProperty("access_token").GetString()!;
        _tokens.Add(child);
        await CallAsync(gateway, HttpMethod.Get, "/crm/customers/42", child, expect: 200);

        // Revocation by jti, then the revoked token (enforced within the contract's second).
        var revocable = Mint(issuer, Claims(issuer));
        var jti = JsonNode.Parse(Encoding.UTF8.GetString(Base64Url(revocable.Split('.')[1])))!["jti"]!.GetValue<string>();
        using var revoked = await gateway.AdminSendAsync(HttpMethod.Post, "/revocations", new StringContent($$"""{"jti":"{{jti}}","reason":"privacy test"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, revoked.StatusCode);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var refusal = await CallAsync(gateway, HttpMethod.Get, "/crm/customers/42", revocable, expect: null);
            if (refusal.Contains("\"reason\":\"revoked\"", StringComparison.Ordinal))
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "the revocation was not enforced within 10 s");
            await Task.Delay(100);
        }

        return approvalRecord;
    }

    private JsonObject Claims(TestIssuer issuer)
    {
        var claims = issuer.Claims(sub: _sub);
        claims["privacy_marker"] = _tokenMarker;
        claims["authorization_details"] = new JsonArray(
            Grant(["crm.customers:read", "crm.customers:update"], ["crm:customer/42"]),
            Grant(["crm.exports:create"], ["crm:export/*"]),
            Grant(["payments.refunds:create"], ["payments:payment/*"]),
            Grant(["crm.wipe:run"], ["crm:wipe/*"]),
            Grant(["dead.items:create"], ["dead:item/*"]));
        return claims;
    }

    private static JsonObject Grant(string[] actions, string[] resources) => new()
    {
        ["type"] = "agent_capability",
        ["actions"] = new JsonArray([.. actions.Select(a => JsonValue.Create(a))]),
        ["resources"] = new JsonArray([.. resources.Select(r => JsonValue.Create(r))]),
    };

    private string Mint(TestIssuer issuer, JsonObject claims)
    {
        var token = issuer.Mint(claims);
        _tokens.Add(token);
        return token;
    }

    /// <summary>Sends one call; keeps everything the agent got back (status, every header, the body).</summary>
    private async Task<string> CallAsync(TestGateway gateway, HttpMethod method, string path, string? token, string? body = null, int? expect = null, string scheme = "Bearer", string? approvalId = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue(scheme, token);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        if (approvalId is not null)
        {
            request.Headers.Add("Approval-Id", approvalId);
        }

        // A prompt where its digest belongs, and in the conversation id: both malformed, neither may be written anywhere.
        request.Headers.TryAddWithoutValidation("Gateway-Prompt-Sha256", $"Summarise the customers for {_promptMarker}");
        request.Headers.TryAddWithoutValidation("baggage", $"gen_ai.conversation.id={_conversationMarker}%20list%20every%20card,gen_ai.prompt={_conversationMarker}");

        using var response = await gateway.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var headers = response.Headers.Concat(response.Content.Headers).Select(h => $"{h.Key}: {string.Join(", ", h.Value)}");
        _answers.Add(($"{method} {path}", $"{(int)response.StatusCode}\n{string.Join('\n', headers)}\n\n{text}"));
        if (expect is { } status)
        {
            Assert.True((int)response.StatusCode == status, $"{method} {path}: expected {status}, got {(int)response.StatusCode}: {text}");
        }

        return text;
    }

    /// <summary>
    /// Whole tokens, their payload and signature parts (the header part is the issuer's, the same for
    /// every token), the marker claim, the body marker, and the admin key.
    /// </summary>
    private List<string> Secrets()
    {
        var secrets = new List<string> { _tokenMarker, _bodyMarker, _promptMarker, _conversationMarker, TestGateway.AdminKey };
        foreach (var token in _tokens.Distinct())
        {
            secrets.Add(token);
            var parts = token.Split('.');
            if (parts.Length == 3)
            {
                secrets.Add(parts[1]);
                secrets.Add(parts[2]);
            }
        }

        return secrets;
    }

    private static void AssertNone(string where, IEnumerable<string> haystack, IReadOnlyList<string> secrets)
    {
        foreach (var text in haystack)
        {
            foreach (var secret in secrets)
            {
                Assert.False(
                    text.Contains(secret, StringComparison.Ordinal),
                    $"A {where} holds a secret ({(secret.Length > 40 ? secret[..40] + "..." : secret)}):\n{(text.Length > 2000 ? text[..2000] + "..." : text)}");
            }
        }
    }

    private static byte[] Base64Url(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded.PadRight(padded.Length + ((4 - (padded.Length % 4)) % 4), '='));
    }
}
