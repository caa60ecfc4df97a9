namespace Gateway.FunctionalTests.Upstreams;

/// <summary>Policies for the upstream credential tests: one upstream with the given <c>auth</c>, and routes in and out of scope.</summary>
internal static class CredentialPolicies
{
    /// <param name="auth">The YAML of <c>upstreams.crm.auth</c>, one line.</param>
    /// <param name="extra">Extra top-level sections (e.g. <c>audit</c>, <c>delegation</c>).</param>
    public static string With(string auth, string extra = "") => $$$"""
        gateway:
          audience: {{AUDIENCE}}
        issuers:
          - issuer: {{ISSUER}}
            jwks_file: idp.jwks.json
            algorithms: [ES256]
        tiers:
          low: { risk: 1 }
        budgets:
          steps: { default: 100000 }
          risk: { limit: 1000000, window: 24h, on_exceed: deny }
        upstreams:
          crm:
            destinations: [ {{UPSTREAM}} ]
            auth: {{{auth}}}
          plain: { destinations: [ {{UPSTREAM}} ] }
        routes:
          - id: crm-get-customer
            match: { methods: [GET], path: /crm/customers/{customerId} }
            upstream: crm
            action: crm.customers:read
            resource: crm:customer/{customerId}
            tier: low
          - id: plain-get
            match: { methods: [GET], path: /plain/{id} }
            upstream: plain
            action: plain.items:read
            resource: plain:item/{id}
            tier: low
        {{{extra}}}
        """;
}
