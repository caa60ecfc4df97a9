using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.Tokens;

namespace Gateway.FunctionalTests.Delegation;

/// <summary>
/// A gateway that mints child tokens (<c>POST /delegations</c>): its policy has a <c>delegation</c> section whose
/// issuer is also one of its <c>issuers</c>, with an EdDSA key pair generated for the test run (private JWK for
/// <c>signing_key_file</c>, public JWKS for that issuer's <c>jwks_file</c>). In-memory store, audit file on.
/// </summary>
public sealed class DelegationGatewayFixture : IAsyncLifetime
{
    public const string DelegationIssuer = "https://gateway.test/delegation";
    public const int MaxDepth = 3;

    public const string PolicyTemplate = """
        gateway:
          audience: {{AUDIENCE}}
          max_token_lifetime: 1h
          clock_skew: 30s
          max_delegation_depth: 3
        issuers:
          - issuer: {{ISSUER}}
            jwks_file: idp.jwks.json
            algorithms: [ES256]
          - issuer: https://gateway.test/delegation
            jwks_file: {{KEYS}}/delegation.jwks.json
            algorithms: [EdDSA]
        delegation:
          issuer: https://gateway.test/delegation
          signing_key_file: {{KEYS}}/delegation-private.jwk
          max_ttl: 10m
        tiers:
          low:    { risk: 1 }
          medium: { risk: 5 }
        budgets:
          steps: { default: 50 }
          risk:  { limit: 1000000, window: 24h, on_exceed: deny }
        audit:
          file: audit/decisions.jsonl
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
          - id: crm-get-note
            match: { methods: [GET], path: /crm/customers/{customerId}/notes/{noteId} }
            upstream: crm
            action: crm.notes:read
            resource: crm:customer/{customerId}/note/{noteId}
            tier: low
        """;

    private readonly string _keys = Directory.CreateTempSubdirectory("gateway-delegation-keys-").FullName;

    public TestIssuer Issuer { get; } = new();
    public UpstreamServer Upstream { get; private set; } = null!;
    public TestGateway Gateway { get; private set; } = null!;

    /// <summary>The gateway's delegation signing key, as <c>gateway token mint --key</c> takes it.</summary>
    public string SigningKeyFile => Path.Combine(_keys, "delegation-private.jwk");

    public async Task InitializeAsync()
    {
        KeyGenerator.Generate("EdDSA", "delegation-test").WriteTo(_keys, "delegation");
        Upstream = await UpstreamServer.StartAsync();
        Gateway = await TestGateway.StartAsync(Issuer, Upstream, PolicyTemplate.Replace("{{KEYS}}", _keys, StringComparison.Ordinal));
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
        Issuer.Dispose();
        Directory.Delete(_keys, recursive: true);
    }

    /// <summary>
    /// A parent token from the identity provider. <paramref name="grants"/> are its <c>agent_capability</c> entries
    /// (default: read any customer); <paramref name="actors"/> its <c>act</c> chain, calling agent first.
    /// </summary>
    public string Parent(
        string sub,
        string[]? actors = null,
        (string[] Actions, string[] Resources)[]? grants = null,
        TimeSpan? ttl = null,
        int? maxSteps = 50,
        JsonObject? extra = null)
    {
        actors ??= ["agent:planner"];
        var claims = Issuer.Claims(sub: sub, agent: actors[0], ttl: ttl);
        claims["act"] = Act(actors);
        claims["authorization_details"] = Details(grants ?? [(["crm.customers:read"], ["crm:customer/**"])]);
        if (maxSteps is { } steps)
        {
            claims["cap"] = new JsonObject { ["max_steps"] = steps };
        }

        foreach (var (name, value) in extra ?? [])
        {
            claims[name] = value?.DeepClone();
        }

        return Issuer.Mint(claims);
    }

    private static JsonObject Act(ReadOnlySpan<string> actors)
    {
        var act = new JsonObject { ["sub"] = actors[0] };
        if (actors.Length > 1)
        {
            act["act"] = Act(actors[1..]);
        }

        return act;
    }

    public static JsonArray Details(IEnumerable<(string[] Actions, string[] Resources)> grants) =>
        new([.. grants.Select(g => (JsonNode)new JsonObject
        {
            ["type"] = "agent_capability",
            ["actions"] = new JsonArray([.. g.Actions.Select(a => (JsonNode)a!)]),
            ["resources"] = new JsonArray([.. g.Resources.Select(r => (JsonNode)r!)]),
        })]);

    /// <summary>A <c>POST /delegations</c> body (DelegationEndpoints' shape).</summary>
    public static JsonObject Body(string parent, string actor, (string[] Actions, string[] Resources)[] grants, int? expiresIn = null, int? maxSteps = null, string? sub = null)
    {
        var body = new JsonObject { ["subject_token"] = parent, ["actor"] = actor, ["authorization_details"] = Details(grants) };
        if (expiresIn is { } seconds)
        {
            body["expires_in"] = seconds;
        }

        if (maxSteps is { } steps)
        {
            body["max_steps"] = steps;
        }

        if (sub is not null)
        {
            body["sub"] = sub;
        }

        return body;
    }

    public enum Credential
    {
        /// <summary><c>Authorization: Bearer PARENT</c>: the agent delegates its own token.</summary>
        Parent,

        /// <summary><c>Authorization: Bearer ADMIN_KEY</c>.</summary>
        AdminKey,

        None,
    }

    public Task<HttpResponseMessage> DelegateAsync(JsonObject body, Credential credential = Credential.Parent) =>
        DelegateAsync(body.ToJsonString(), credential == Credential.Parent ? body["subject_token"]!.GetValue<string>() : credential == Credential.AdminKey ? TestGateway.AdminKey : null);

    public Task<HttpResponseMessage> DelegateAsync(string body, string? bearer)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/delegations") { Content = Revocation.RevocationApi.Json(body) };
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return Gateway.Admin.SendAsync(request);
    }

    /// <summary>Delegates and returns the 200 answer; fails the test otherwise.</summary>
    public async Task<JsonElement> DelegateOkAsync(JsonObject body, Credential credential = Credential.Parent)
    {
        using var response = await DelegateAsync(body, credential);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST /delegations: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string token)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return Gateway.Client.SendAsync(request);
    }
}
