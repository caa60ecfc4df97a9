namespace Gateway.FunctionalTests.Infrastructure;

public static class TestPolicies
{
    /// <summary>The functional tests' policy: every tier, each resource source, catch-all routes, a step-up route and a shadow route.</summary>
    public const string Default = """
        gateway:
          audience: {{AUDIENCE}}
          max_token_lifetime: 1h
          clock_skew: 30s
          max_delegation_depth: 3
        issuers:
          - issuer: {{ISSUER}}
            jwks_file: idp.jwks.json
            algorithms: [ES256]
        tiers:
          low:      { risk: 1 }
          medium:   { risk: 5 }
          high:     { risk: 20, min_intent: explicit }
          critical: { risk: 50, min_intent: step_up, approval: required }
        budgets:
          steps: { default: 50 }
          risk:  { limit: 1000000, window: 24h, on_exceed: deny }
        upstreams:
          crm: { destinations: [ {{UPSTREAM}} ] }
          payments: { destinations: [ {{UPSTREAM}} ] }
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
          - id: crm-get-note
            match: { methods: [GET], path: /crm/customers/{customerId}/notes/{noteId} }
            upstream: crm
            action: crm.notes:read
            resource: crm:customer/{customerId}/note/{noteId}
            tier: low
          - id: crm-list-customers
            match: { methods: [GET], path: /crm/customers }
            upstream: crm
            action: crm.customers:list
            resource: crm:region/{query.region}
            tier: low
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
          - id: files-get
            match: { methods: [GET], path: "/files/{**path}" }
            upstream: crm
            action: files.docs:read
            resource: files:doc/{path}
            tier: low
          - id: files-update
            match: { methods: [PATCH], path: "/files/{**path}" }
            upstream: crm
            action: files.docs:update
            resource: files:doc/{path}
            tier: medium
          - id: payments-transfer
            match: { methods: [POST], path: /payments/transfers }
            upstream: payments
            action: payments.transfers:create
            resource: payments:account/{header.X-Account-Id}
            tier: high
        """;
}
