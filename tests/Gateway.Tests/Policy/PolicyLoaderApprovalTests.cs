using Gateway.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gateway.Tests.Policy;

/// <summary>The approval keys: the <c>approvals</c> section, a tier's approver rules, a route's <c>describe</c> and <c>irreversible</c>.</summary>
public sealed class PolicyLoaderApprovalTests : IDisposable
{
    private const string Digest = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private readonly PolicyTestFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void LoadFromText_EveryApprovalKey_IsMapped()
    {
        var policy = PolicyAssert.Loaded(_folder.LoadText($$"""
            gateway:
              audience: https://gateway.example
            issuers:
              - issuer: https://idp.example
                jwks_file: keys/idp.jwks.json
            tiers:
              low: { risk: 1 }
              critical:
                risk: 50
                approval: required
                approvers: [finance, subject]
                self_approval: true
                approver_step_up: { acr: [ "urn:example:mfa" ], max_age: 5m }
                irreversible: true
            approvals:
              ttl: 10m
              approvers: [admin]
              bind: subject_agent
              groups: { finance: [ {{Digest.ToUpperInvariant()}} ] }
              redact: [iban, Secret_Answer]
              preview_chars: 100
              max_body_bytes: 4096
              max_open: 3
              public_url: https://gateway-admin.example/base
            upstreams:
              crm: { destinations: [http://127.0.0.1:5101] }
            routes:
              - id: crm-delete-customer
                match: { methods: [DELETE], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:delete
                resource: crm:customer/{customerId}
                tier: critical
                describe: Delete customer {customerId} (reason {query.why})
                irreversible: false
            """));

        var approvals = policy.Approvals;
        Assert.Equal(TimeSpan.FromMinutes(10), approvals.Ttl);
        Assert.Equal(ApprovalBinding.SubjectAgent, approvals.Bind);
        Assert.Equal([Digest], approvals.Groups["finance"]);
        Assert.Equal(["iban", "Secret_Answer"], approvals.Redact);
        Assert.Equal(100, approvals.PreviewChars);
        Assert.Equal(4096, approvals.MaxBodyBytes);
        Assert.Equal(3, approvals.MaxOpen);
        Assert.Equal(new Uri("https://gateway-admin.example/base"), approvals.PublicUrl);

        var critical = policy.Tiers["critical"];
        Assert.Equal(["finance", "subject"], critical.Approvers);
        Assert.True(critical.SelfApproval);
        Assert.Equal(["urn:example:mfa"], critical.ApproverStepUp!.Acr);
        Assert.Equal(TimeSpan.FromMinutes(5), critical.ApproverStepUp.MaxAge);
        Assert.True(critical.Irreversible);
        Assert.Null(policy.Tiers["low"].Approvers);
        Assert.False(policy.Tiers["low"].Irreversible);

        var route = new PolicySnapshot(policy, new NoTokens()).Routes["crm-delete-customer"];
        Assert.False(route.Irreversible);
        var request = new DefaultHttpContext().Request;
        request.RouteValues = new RouteValueDictionary { ["customerId"] = "42" };
        request.QueryString = new QueryString("?why=gdpr");
        Assert.True(route.Describe!.TryExpand(request, out var text, out _));
        Assert.Equal("Delete customer 42 (reason gdpr)", text);
    }

    [Fact]
    public void LoadFromText_ApprovalDefaults_AreDocumentedValues()
    {
        var policy = PolicyAssert.Loaded(_folder.LoadText(PolicyTestFolder.Minimal));

        Assert.Equal(TimeSpan.FromMinutes(15), policy.Approvals.Ttl);
        Assert.Equal(["admin"], policy.Approvals.Approvers);
        Assert.Equal(ApprovalBinding.Token, policy.Approvals.Bind);
        Assert.Empty(policy.Approvals.Groups);
        Assert.Equal(2048, policy.Approvals.PreviewChars);
        Assert.Equal(1024 * 1024, policy.Approvals.MaxBodyBytes);
        Assert.Equal(20, policy.Approvals.MaxOpen);
        Assert.Null(policy.Approvals.PublicUrl);
        Assert.True(policy.Tiers["low"].SelfApproval);
        Assert.Null(new PolicySnapshot(policy, new NoTokens()).Routes["crm-get-customer"].Describe);
    }

    [Fact]
    public void LoadFromText_UnknownGroupInTier_IsReportedWithTheKnownOnes()
    {
        var result = _folder.LoadText($$"""
            gateway:
              audience: https://gateway.example
            issuers:
              - issuer: https://idp.example
                jwks_file: keys/idp.jwks.json
            tiers:
              low: { risk: 1, approvers: [financ] }
            approvals:
              groups: { finance: [ {{Digest}} ] }
            """);

        PolicyAssert.SingleError(result, 7, 31, "unknown approver 'financ' in tier 'low' (expected admin, subject or a group of 'approvals.groups': finance) (did you mean 'finance'?)");
    }

    [Fact]
    public void LoadFromText_BadApprovalValues_AreAllReported()
    {
        var result = _folder.LoadText(PolicyTestFolder.Header + """
            approvals:
              bind: jti
              groups:
                admin: [ aaaa ]
                ops: [ not-a-digest ]
              preview_chars: -1
              public_url: ftp://x
            """);

        PolicyAssert.HasError(result, 11, 9, "'bind' in section 'approvals' must be token or subject_agent, found 'jti'");
        PolicyAssert.HasError(result, 13, 5, "approver group 'admin' in section 'approvals' would hide the built-in approver 'admin'");
        PolicyAssert.HasError(result, 14, 12, "items in approver group 'ops' must be SHA-256 digests");
        PolicyAssert.HasError(result, 15, 18, "'preview_chars' in section 'approvals' must be at least 0, found -1");
        PolicyAssert.HasError(result, 16, 15, "'public_url' in section 'approvals' must be an absolute http or https URL");
        Assert.DoesNotContain(result.Errors, e => e.Message.Contains("not-a-digest", StringComparison.Ordinal));
    }

    [Fact]
    public void LoadFromText_NoSelfApprovalWithOnlySubjectApprovers_IsAnError()
    {
        var result = _folder.LoadText("""
            gateway:
              audience: https://gateway.example
            issuers:
              - issuer: https://idp.example
                jwks_file: keys/idp.jwks.json
            tiers:
              low: { risk: 1, approvers: [subject], self_approval: false }
            """);

        PolicyAssert.SingleError(result, 7, 56, "'self_approval: false' in tier 'low' leaves no one who may approve");
    }

    [Fact]
    public void LoadFromText_ApproverStepUpWithoutAcrOrMaxAge_IsAnError()
    {
        var result = _folder.LoadText("""
            gateway:
              audience: https://gateway.example
            issuers:
              - issuer: https://idp.example
                jwks_file: keys/idp.jwks.json
            tiers:
              low: { risk: 1, approver_step_up: {} }
            """);

        PolicyAssert.SingleError(result, 7, 37, "'approver_step_up' in tier 'low' must set 'acr'");
    }

    private sealed class NoTokens : Gateway.Tokens.ITokenValidator
    {
        public ValueTask<Gateway.Tokens.TokenValidationResult> ValidateAsync(string token, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}
