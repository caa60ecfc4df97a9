using Gateway.Policy;

namespace Gateway.Tests.Policy;

/// <summary>Route errors. Routes start at line 11 (after <see cref="PolicyTestFolder.Header"/> and <c>routes:</c>).</summary>
public sealed class PolicyLoaderRouteTests : IDisposable
{
    private readonly PolicyTestFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private PolicyLoadResult LoadRoutes(string routes) => _folder.LoadText(PolicyTestFolder.Header + "routes:\n" + routes);

    [Fact]
    public void LoadFromText_MinimalRoute_MapsEveryField()
    {
        var policy = PolicyAssert.Loaded(_folder.LoadText(PolicyTestFolder.Minimal));

        var route = Assert.Single(policy.Routes);
        Assert.Equal("crm-get-customer", route.Id);
        Assert.Equal(["GET"], route.Methods);
        Assert.Equal("/crm/customers/{customerId}", route.Path);
        Assert.Equal("crm", route.Upstream);
        Assert.Equal("crm.customers:read", route.Action);
        Assert.Equal("crm:customer/{customerId}", route.Resource);
        Assert.Equal("low", route.Tier);
        Assert.Null(route.Risk);
        Assert.Null(route.StepUp);
        Assert.Equal(new SourceLocation("gateway.yaml", 11, 5), route.Location);
    }

    [Fact]
    public void LoadFromText_MisspelledRouteKey_ReportsUnknownKeyWithSuggestion()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { methods: [GET], path: "/crm/customers/{customerId}" }
                upstream: crm
                actoin: crm.customers:read
                resource: crm:customer/{customerId}
                tier: low
            """);

        // Only the typo: "missing required key 'action'" would repeat the same mistake.
        var error = PolicyAssert.SingleError(result, 14, 5, "unknown key 'actoin' in route 'crm-get-customer' (did you mean 'action'?)");
        Assert.Equal("gateway.yaml:14:5: unknown key 'actoin' in route 'crm-get-customer' (did you mean 'action'?)", error.ToString());
    }

    [Fact]
    public void LoadFromText_MissingRequiredKey_ReportsAtRouteStart()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { methods: [GET], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:read
                tier: low
            """);

        PolicyAssert.SingleError(result, 11, 5, "missing required key 'resource' in route 'crm-get-customer'");
    }

    [Fact]
    public void LoadFromText_UnknownTier_ReportsTierWithSuggestion()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { methods: [GET], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:read
                resource: crm:customer/{customerId}
                tier: lwo
            """);

        PolicyAssert.SingleError(result, 16, 11, "unknown tier 'lwo' in route 'crm-get-customer' (did you mean 'low'?)");
    }

    [Fact]
    public void LoadFromText_UnknownUpstream_ListsDefinedUpstreams()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { methods: [GET], path: "/crm/customers/{customerId}" }
                upstream: billing
                action: crm.customers:read
                resource: crm:customer/{customerId}
                tier: low
            """);

        PolicyAssert.SingleError(result, 13, 15, "unknown upstream 'billing' in route 'crm-get-customer' (defined upstreams: crm)");
    }

    [Fact]
    public void LoadFromText_DuplicateRouteId_NamesFirstDefinition()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { methods: [GET], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:read
                resource: crm:customer/{customerId}
                tier: low
              - id: crm-get-customer
                match: { methods: [PATCH], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:update
                resource: crm:customer/{customerId}
                tier: low
            """);

        PolicyAssert.SingleError(result, 17, 9, "duplicate route id 'crm-get-customer': already used at gateway.yaml:11:9");
    }

    [Fact]
    public void LoadFromText_InvalidPathTemplate_ReportsRoutePatternError()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { methods: [GET], path: "/crm/customers/{customerId" }
                upstream: crm
                action: crm.customers:read
                resource: crm:customer/x
                tier: low
            """);

        PolicyAssert.SingleError(result, 12, 36, "invalid path template '/crm/customers/{customerId' in route 'crm-get-customer':");
    }

    [Fact]
    public void LoadFromText_UnknownRouteConstraint_SuggestsKnownConstraint()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { methods: [GET], path: "/crm/customers/{customerId:it}" }
                upstream: crm
                action: crm.customers:read
                resource: crm:customer/{customerId}
                tier: low
            """);

        PolicyAssert.SingleError(result, 12, 36, "unknown route constraint 'it' on parameter 'customerId' (did you mean 'int'?)");
    }

    [Fact]
    public void LoadFromText_ResourcePlaceholderNotInPath_ReportsUndefinedPlaceholder()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { methods: [GET], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:read
                resource: crm:customer/{customer}
                tier: low
            """);

        PolicyAssert.SingleError(result, 15, 15, "placeholder '{customer}' is not defined by the path (the path defines {customerId}; use a path parameter, {query.NAME} or {header.NAME}; did you mean '{customerId}'?)");
    }

    [Fact]
    public void LoadFromText_QueryAndHeaderPlaceholders_Load()
    {
        var policy = PolicyAssert.Loaded(LoadRoutes("""
              - id: crm-list-customers
                match: { methods: [GET], path: /crm/customers }
                upstream: crm
                action: crm.customers:list
                resource: crm:region/{query.region}/account/{header.X-Account-Id}
                tier: low
            """));

        Assert.Equal("crm:region/{query.region}/account/{header.X-Account-Id}", Assert.Single(policy.Routes).Resource);
    }

    [Fact]
    public void LoadFromText_HeaderPlaceholderWithInvalidName_ReportsPlaceholder()
    {
        var result = LoadRoutes("""
              - id: crm-list-customers
                match: { methods: [GET], path: /crm/customers }
                upstream: crm
                action: crm.customers:list
                resource: "crm:account/{header.X Account}"
                tier: low
            """);

        PolicyAssert.SingleError(result, 15, 15, "placeholder '{header.X Account}' needs a valid header name after 'header.'");
    }

    [Fact]
    public void LoadFromText_UnclosedPlaceholder_ReportsBrace()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { methods: [GET], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:read
                resource: crm:customer/{customerId
                tier: low
            """);

        PolicyAssert.HasError(result, 15, 15, "'{' at position 14 is not closed");
    }

    [Fact]
    public void LoadFromText_WildcardAction_ReportsConcreteActionRequired()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { methods: [GET], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.*:read
                resource: crm:customer/{customerId}
                tier: low
            """);

        PolicyAssert.SingleError(result, 14, 13, "action 'crm.*:read' in route 'crm-get-customer' uses '*', but a route names one concrete action");
    }

    [Fact]
    public void LoadFromText_MalformedAction_ReportsExpectedShape()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { methods: [GET], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers.read
                resource: crm:customer/{customerId}
                tier: low
            """);

        PolicyAssert.SingleError(result, 14, 13, "action 'crm.customers.read' in route 'crm-get-customer' must be service.object:verb, such as crm.customers:read");
    }

    [Fact]
    public void LoadFromText_ResourceWithoutService_ReportsExpectedShape()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { methods: [GET], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:read
                resource: crm/customer/{customerId}
                tier: low
            """);

        PolicyAssert.SingleError(result, 15, 15, "resource 'crm/customer/{customerId}' in route 'crm-get-customer' is not a resource template: it must look like service:type/id");
    }

    [Fact]
    public void LoadFromText_CatchAllGluedToALiteral_ReportsWholeSegments()
    {
        var result = LoadRoutes("""
              - id: files-get
                match: { methods: [GET], path: "/files/{**path}" }
                upstream: crm
                action: files.docs:read
                resource: files:doc/v{path}
                tier: low
            """);

        PolicyAssert.SingleError(result, 15, 15, "resource 'files:doc/v{path}' in route 'files-get': '{path}' is the path's catch-all and fills one or more whole segments");
    }

    [Theory]
    [InlineData("files:doc/{path}")]
    [InlineData("files:{path}")]
    [InlineData("files:{path}/meta")]
    [InlineData("files:doc/{PATH}")]
    public void LoadFromText_CatchAllAsWholeSegments_Loads(string resource)
    {
        var result = LoadRoutes($$"""
              - id: files-get
                match: { methods: [GET], path: "/files/{**path}" }
                upstream: crm
                action: files.docs:read
                resource: {{resource}}
                tier: low
            """);

        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
    }

    [Fact]
    public void LoadFromText_WildcardResource_ReportsConcreteResourceRequired()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { methods: [GET], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:read
                resource: crm:customer/*
                tier: low
            """);

        PolicyAssert.SingleError(result, 15, 15, "'*' is not allowed (wildcards belong in token grants)");
    }

    [Fact]
    public void LoadFromText_PlaceholderAsService_ReportsLiteralServiceRequired()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { methods: [GET], path: "/{service}/customers/{customerId}" }
                upstream: crm
                action: crm.customers:read
                resource: "{service}:customer/{customerId}"
                tier: low
            """);

        PolicyAssert.SingleError(result, 15, 15, "its service part (before ':') must be written out");
    }

    [Fact]
    public void LoadFromText_InvalidMethod_ReportsMethodToken()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { methods: [get, "GE T"], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:read
                resource: crm:customer/{customerId}
                tier: low
            """);

        PolicyAssert.SingleError(result, 12, 29, "'GE T' in 'methods' in route 'crm-get-customer' is not an HTTP method name");
    }

    [Fact]
    public void LoadFromText_WildcardMethod_ReportsListEachMethod()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { methods: ["*"], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:read
                resource: crm:customer/{customerId}
                tier: low
            """);

        PolicyAssert.SingleError(result, 12, 24, "'*' in 'methods' in route 'crm-get-customer' is not supported: list each method");
    }

    [Fact]
    public void LoadFromText_LowercaseMethod_IsUppercased()
    {
        var policy = PolicyAssert.Loaded(LoadRoutes("""
              - id: crm-get-customer
                match: { methods: [get, Patch], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:read
                resource: crm:customer/{customerId}
                tier: low
            """));

        Assert.Equal(["GET", "PATCH"], Assert.Single(policy.Routes).Methods);
    }

    [Fact]
    public void LoadFromText_MissingMethods_ReportsRequiredKey()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:read
                resource: crm:customer/{customerId}
                tier: low
            """);

        PolicyAssert.SingleError(result, 12, 12, "missing required key 'methods' for 'match' in route 'crm-get-customer'");
    }

    [Fact]
    public void LoadFromText_SameMethodAndTemplateInTwoRoutes_ReportsAmbiguousMatch()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { methods: [GET], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:read
                resource: crm:customer/{customerId}
                tier: low
              - id: crm-read-customer
                match: { methods: [POST, GET], path: "/CRM/customers/{id}" }
                upstream: crm
                action: crm.customers:read
                resource: crm:customer/{id}
                tier: low
            """);

        PolicyAssert.SingleError(result, 18, 30, "route 'crm-read-customer' matches GET /CRM/customers/{id} exactly like route 'crm-get-customer' at gateway.yaml:11:5");
    }

    [Fact]
    public void LoadFromText_StepUpAndOverrides_AreMapped()
    {
        var policy = PolicyAssert.Loaded(LoadRoutes("""
              - id: crm-delete-customer
                match: { methods: [DELETE], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:delete
                resource: crm:customer/{customerId}
                tier: low
                risk: 7
                min_intent: step_up
                approval: required
                mode: shadow
                step_up: { acr: ["urn:example:mfa"], max_age: 5m }
                describe: Delete customer {customerId}
            """));

        var route = Assert.Single(policy.Routes);
        Assert.Equal(7, route.Risk);
        Assert.Equal(IntentMethod.StepUp, route.MinIntent);
        Assert.Equal(ApprovalRequirement.Required, route.Approval);
        Assert.Equal(EnforcementMode.Shadow, route.Mode);
        Assert.Equal(["urn:example:mfa"], route.StepUp!.Acr);
        Assert.Equal(TimeSpan.FromMinutes(5), route.StepUp.MaxAge);
        Assert.Equal("Delete customer {customerId}", route.Describe);
    }

    [Fact]
    public void LoadFromText_StepUpWithBadMaxAge_ReportsDuration()
    {
        var result = LoadRoutes("""
              - id: crm-delete-customer
                match: { methods: [DELETE], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:delete
                resource: crm:customer/{customerId}
                tier: low
                step_up: { acr: ["urn:example:mfa"], max_age: 5 minutes }
            """);

        PolicyAssert.SingleError(result, 17, 51, "'max_age' for 'step_up' in route 'crm-delete-customer' is not a duration: '5 minutes'");
    }

    [Fact]
    public void LoadFromText_EmptyStepUp_ReportsWhatToSet()
    {
        var result = LoadRoutes("""
              - id: crm-delete-customer
                match: { methods: [DELETE], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:delete
                resource: crm:customer/{customerId}
                tier: low
                step_up: {}
            """);

        PolicyAssert.SingleError(result, 17, 14, "'step_up' in route 'crm-delete-customer' must set 'acr'");
    }

    [Fact]
    public void LoadFromText_BadOverrideEnums_ReportsEachWithSuggestion()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { methods: [GET], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:read
                resource: crm:customer/{customerId}
                tier: low
                min_intent: stepup
                approval: requierd
                mode: enforced
                risk: -1
            """);

        Assert.Equal(4, result.Errors.Count);
        PolicyAssert.HasError(result, 17, 17, "'min_intent' in route 'crm-get-customer' must be policy, explicit or step_up, found 'stepup' (did you mean 'step_up'?)");
        PolicyAssert.HasError(result, 18, 15, "'approval' in route 'crm-get-customer' must be none or required, found 'requierd' (did you mean 'required'?)");
        PolicyAssert.HasError(result, 19, 11, "(did you mean 'enforce'?)");
        PolicyAssert.HasError(result, 20, 11, "'risk' in route 'crm-get-customer' must be at least 0, found -1");
    }

    [Fact]
    public void LoadFromText_DescribeWithUndefinedPlaceholder_ReportsPlaceholder()
    {
        var result = LoadRoutes("""
              - id: crm-get-customer
                match: { methods: [GET], path: "/crm/customers/{customerId}" }
                upstream: crm
                action: crm.customers:read
                resource: crm:customer/{customerId}
                tier: low
                describe: Read customer {name}
            """);

        PolicyAssert.SingleError(result, 17, 15, "describe 'Read customer {name}' in route 'crm-get-customer': placeholder '{name}' is not defined by the path");
    }

    [Fact]
    public void LoadFromText_RoutesNotAList_ReportsExpectedShape()
    {
        var result = LoadRoutes("""
              crm-get-customer: {}
            """);

        PolicyAssert.SingleError(result, 11, 3, "section 'routes' must be a list of routes");
    }
}
