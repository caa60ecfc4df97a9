using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Approvals;

/// <summary>The approval tests' policy, tokens and calls: agent side and approver side.</summary>
internal static class ApprovalHarness
{
    /// <summary>An admin key in the group <c>finance</c>; the test gateway's own key (GATEWAY_ADMIN_KEY) is not.</summary>
    public const string FinanceKey = "finance-admin-key-0123456789";

    public const string Policy = """
        gateway:
          audience: {{AUDIENCE}}
        issuers:
          - issuer: {{ISSUER}}
            jwks_file: idp.jwks.json
            algorithms: [ES256]
        admin:
          key_sha256: [ {{FINANCE_SHA}} ]
        tiers:
          low:      { risk: 1 }
          medium:   { risk: 40 }
          critical: { risk: 50, approval: required, irreversible: true }
          finance:  { risk: 10, approval: required, approvers: [finance] }
          guarded:  { risk: 10, approval: required, self_approval: false }
          stepup:   { risk: 10, approval: required, approver_step_up: { acr: [ "urn:test:mfa" ], max_age: 5m } }
        budgets:
          steps: { default: 50 }
          risk:  { limit: 100, window: 24h, on_exceed: approval }
        approvals:
          ttl: 15m
          groups: { finance: [ {{FINANCE_SHA}} ] }
          redact: [card_number]
          max_body_bytes: 4096
        upstreams:
          crm: { destinations: [ {{UPSTREAM}} ] }
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
          - id: crm-delete-customer
            match: { methods: [DELETE], path: /crm/customers/{customerId} }
            upstream: crm
            action: crm.customers:delete
            resource: crm:customer/{customerId}
            tier: critical
            describe: Delete customer {customerId}
          - id: payments-refund
            match: { methods: [POST], path: /payments/{paymentId}/refunds }
            upstream: crm
            action: payments.refunds:create
            resource: payments:payment/{paymentId}
            tier: critical
            describe: Refund payment {paymentId}
          - id: finance-pay
            match: { methods: [POST], path: /finance/payments/{id} }
            upstream: crm
            action: finance.payments:create
            resource: finance:payment/{id}
            tier: finance
          - id: guarded-op
            match: { methods: [POST], path: /guarded/{id} }
            upstream: crm
            action: guarded.ops:run
            resource: guarded:op/{id}
            tier: guarded
          - id: stepup-op
            match: { methods: [POST], path: /stepup/{id} }
            upstream: crm
            action: stepup.ops:run
            resource: stepup:op/{id}
            tier: stepup
        """;

    public static string RenderPolicy() => Policy.Replace("{{FINANCE_SHA}}", Sha256Hex(FinanceKey), StringComparison.Ordinal);

    public static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>An agent's token granting every route of <see cref="Policy"/>.</summary>
    public static string AgentToken(TestIssuer issuer, string sub = "user:alice", string agent = "agent:planner", TimeSpan? ttl = null)
    {
        var claims = issuer.Claims(sub: sub, agent: agent, ttl: ttl ?? TimeSpan.FromMinutes(55));
        claims["authorization_details"] = new JsonArray(new JsonObject
        {
            ["type"] = "agent_capability",
            ["actions"] = new JsonArray("crm.customers:*", "payments.refunds:create", "finance.payments:create", "guarded.ops:run", "stepup.ops:run"),
            ["resources"] = new JsonArray("crm:customer/*", "payments:payment/*", "finance:payment/*", "guarded:op/*", "stepup:op/*"),
        });
        return issuer.Mint(claims);
    }

    /// <summary>A person's token for approving: grants gateway.approvals:approve on every approval.</summary>
    public static string ApproverToken(TestIssuer issuer, string sub, string? acr = null, DateTimeOffset? authTime = null)
    {
        var claims = issuer.Claims(action: "gateway.approvals:approve", resource: "gateway:approval/*", sub: sub, agent: "agent:approval-ui");
        if (acr is not null)
        {
            claims["acr"] = acr;
        }

        if (authTime is { } at)
        {
            claims["auth_time"] = at.ToUnixTimeSeconds();
        }

        return issuer.Mint(claims);
    }

    public static Task<HttpResponseMessage> CallAsync(TestGateway gateway, HttpMethod method, string path, string token, string? json = null, string? approvalId = null)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        if (approvalId is not null)
        {
            request.Headers.Add("Approval-Id", approvalId);
        }

        return gateway.Client.SendAsync(request);
    }

    public static Task<HttpResponseMessage> AdminAsync(TestGateway gateway, HttpMethod method, string path, string? key = TestGateway.AdminKey, object? body = null, string? approverToken = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        if (body is not null)
        {
            request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        }

        if (approverToken is not null)
        {
            request.Headers.Add("Approver-Token", approverToken);
        }

        return gateway.Admin.SendAsync(request);
    }

    public static Task<HttpResponseMessage> ApproveAsync(TestGateway gateway, string id, string key = TestGateway.AdminKey, string? approverToken = null) =>
        AdminAsync(gateway, HttpMethod.Post, $"/approvals/{id}/approve", key, new { note = "looks right" }, approverToken);

    /// <summary>Asserts a 403 approval_required with an approval id and returns the problem.</summary>
    public static async Task<JsonElement> ApprovalRequiredAsync(HttpResponseMessage response, string reason)
    {
        var problem = await ProblemAssert.IsProblemAsync(response, 403, "approval_required");
        Assert.Equal(reason, problem.GetProperty("reason").GetString());
        Assert.Matches("^[0-9a-f]{32}$", problem.GetProperty("approval_id").GetString());
        return problem;
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response, int status = 200)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"Expected {status}, got {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement;
    }
}
