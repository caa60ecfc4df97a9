using Gateway.Policy;

namespace Gateway.Tests.Policy;

public sealed class FlowTemplateQuoterTests
{
    [Theory]
    [InlineData("    match: { methods: [GET], path: /crm/customers/{customerId} }", "    match: { methods: [GET], path: '/crm/customers/{customerId}' }")]
    [InlineData("    match: { path: /a/{b}/c/{d}, methods: [GET] }", "    match: { path: '/a/{b}/c/{d}', methods: [GET] }")]
    [InlineData("    match: { methods: [GET], path: /a/{b}}", "    match: { methods: [GET], path: '/a/{b}'}")]
    [InlineData("  - { id: x, resource: crm:customer/{id} }", "  - { id: x, resource: 'crm:customer/{id}' }")]
    [InlineData("    match: { methods: [GET], path: '/a/{b}' }", "    match: { methods: [GET], path: '/a/{b}' }")]
    [InlineData("    path: /crm/customers/{customerId}", "    path: /crm/customers/{customerId}")]
    [InlineData("    match: { methods: [GET], path: /plain }", "    match: { methods: [GET], path: /plain }")]
    public void Quote_FlowTemplates_AreQuotedAndNothingElse(string line, string expected) =>
        Assert.Equal(expected, FlowTemplateQuoter.Quote(line));

    [Fact]
    public void LoadFromText_ContractStyleFlowMatch_Loads()
    {
        var directory = Directory.CreateTempSubdirectory().FullName;
        File.WriteAllText(Path.Combine(directory, "idp.jwks.json"), """{"keys":[]}""");
        const string yaml = """
            gateway:
              audience: https://gateway.example
            issuers:
              - issuer: https://idp.example
                jwks_file: idp.jwks.json
                algorithms: [ES256]
            tiers:
              low: { risk: 1 }
            upstreams:
              crm: { destinations: [ http://127.0.0.1:5101 ] }
            routes:
              - id: crm-get-customer
                match: { methods: [GET], path: /crm/customers/{customerId} }
                upstream: crm
                action: crm.customers:read
                resource: crm:customer/{customerId}
                tier: low
            """;

        var result = PolicyLoader.LoadFromText(yaml, "gateway.yaml", directory);

        Assert.Empty(result.Errors);
        Assert.Equal("/crm/customers/{customerId}", result.Policy!.Routes[0].Path);
    }
}
