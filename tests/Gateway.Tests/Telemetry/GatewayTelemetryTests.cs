using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Enforcement;
using Gateway.Policy;
using Gateway.Telemetry;
using Gateway.Tokens;

namespace Gateway.Tests.Telemetry;

public sealed class GatewayTelemetryTests
{
    [Fact]
    public void Sources_AreNamedGateway()
    {
        Assert.Equal("Gateway", GatewayTelemetry.ActivitySource.Name);
        Assert.Equal("Gateway", GatewayTelemetry.Meter.Name);
        Assert.Equal("gateway.authorize", GatewayTelemetry.AuthorizeSpanName);
    }

    [Fact]
    public void Attributes_AreExactlyTheContractsSection8()
    {
        Assert.Equal(
            [
                "gateway.route", "gateway.decision", "gateway.error", "gateway.action", "gateway.resource",
                "gateway.tier", "gateway.risk", "gateway.token.jti", "gateway.agent", "gateway.delegation.depth",
                "gateway.steps.remaining", "gateway.risk.remaining", "gateway.decision_id", "enduser.id",
            ],
            GatewayAttributes.All);
    }

    [Fact]
    public void Meter_PublishesEveryInstrumentWithItsTypeAndUnit()
    {
        var published = new Dictionary<string, Instrument>();
        using (var listener = new MeterListener())
        {
            listener.InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == GatewayTelemetry.Name)
                {
                    published[instrument.Name] = instrument;
                }
            };
            _ = GatewayTelemetry.Decisions;
            listener.Start();
        }

        Assert.IsType<Counter<long>>(published["gateway.decisions"]);
        Assert.Equal("s", Assert.IsType<Histogram<double>>(published["gateway.authorize.duration"]).Unit);
        Assert.IsType<Counter<long>>(published["gateway.step_up.challenges"]);
        Assert.Equal("s", Assert.IsType<Histogram<double>>(published["gateway.revocation.lag"]).Unit);
        Assert.Equal("s", Assert.IsType<Histogram<double>>(published["gateway.revocation.let_through"]).Unit);
        Assert.IsType<Counter<long>>(published["gateway.revocation.let_through.calls"]);
        Assert.IsType<Counter<long>>(published["gateway.budget.charges"]);
        Assert.IsType<Counter<long>>(published["gateway.budget.refusals"]);
        Assert.IsType<ObservableGauge<int>>(published["gateway.audit.queue.depth"]);
        Assert.IsType<Counter<long>>(published["gateway.audit.sink.errors"]);
        Assert.IsType<Counter<long>>(published["gateway.audit.events"]);
        Assert.IsType<Counter<long>>(published["gateway.upstream.credential.fetches"]);
        Assert.IsType<Counter<long>>(published["gateway.upstream.credential.cache_hits"]);
        Assert.IsType<Counter<long>>(published["gateway.upstream.credential.failures"]);
    }

    [Fact]
    public void RecordDecision_Refusal_CountsWithDecisionErrorAndRouteAndRecordsSeconds()
    {
        var route = "route-" + Guid.NewGuid().ToString("N");
        var counted = new List<Dictionary<string, object?>>();
        var durations = new List<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == GatewayTelemetry.Name)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var map = ToDictionary(tags);
            if (instrument.Name == GatewayTelemetry.DecisionsInstrument && Equals(map.GetValueOrDefault("route"), route))
            {
                lock (counted)
                {
                    counted.Add(map);
                }
            }
        });
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (instrument.Name == GatewayTelemetry.AuthorizeDurationInstrument && Equals(ToDictionary(tags).GetValueOrDefault("route"), route))
            {
                lock (durations)
                {
                    durations.Add(value);
                }
            }
        });
        listener.Start();

        GatewayTelemetry.RecordDecision("deny", "insufficient_scope", route, TimeSpan.FromMilliseconds(1.5));
        GatewayTelemetry.RecordDecision("allow", null, route, TimeSpan.FromMilliseconds(1));

        Assert.Equal(2, counted.Count);
        Assert.Equal("deny", counted[0]["decision"]);
        Assert.Equal("insufficient_scope", counted[0]["error"]);
        Assert.False(counted[1].ContainsKey("error"));
        Assert.Equal([0.0015, 0.001], durations);
    }

    [Fact]
    public void SetDecision_SampledSpan_CarriesTheContractsAttributesWithAHashedSubject()
    {
        using var listener = Listen(ActivitySamplingResult.AllDataAndRecorded);
        using var activity = GatewayTelemetry.StartAuthorize();
        var hasher = new SubjectHasher();

        AuthorizeActivity.SetDecision(activity, Decision(), hasher);

        Assert.NotNull(activity);
        Assert.Equal("gateway.authorize", activity.OperationName);
        Assert.Equal("crm-get-customer", activity.GetTagItem(GatewayAttributes.Route));
        Assert.Equal("deny", activity.GetTagItem(GatewayAttributes.Decision));
        Assert.Equal("step_limit_exceeded", activity.GetTagItem(GatewayAttributes.Error));
        Assert.Equal("crm.customers:read", activity.GetTagItem(GatewayAttributes.Action));
        Assert.Equal("crm:customer/42", activity.GetTagItem(GatewayAttributes.Resource));
        Assert.Equal("low", activity.GetTagItem(GatewayAttributes.Tier));
        Assert.Equal(1, activity.GetTagItem(GatewayAttributes.Risk));
        Assert.Equal("jti-1", activity.GetTagItem(GatewayAttributes.TokenJti));
        Assert.Equal("agent:B", activity.GetTagItem(GatewayAttributes.Agent));
        Assert.Equal(2, activity.GetTagItem(GatewayAttributes.DelegationDepth));
        Assert.Equal(0, activity.GetTagItem(GatewayAttributes.StepsRemaining));
        Assert.Equal(90, activity.GetTagItem(GatewayAttributes.RiskRemaining));
        Assert.Equal("d-1", activity.GetTagItem(GatewayAttributes.DecisionId));
        Assert.Equal(hasher.Pseudonymize("alice@example.com"), activity.GetTagItem(GatewayAttributes.EndUserId));
        Assert.DoesNotContain(activity.TagObjects, t => t.Value is string s && s.Contains("alice", StringComparison.Ordinal));
        Assert.Equal(ActivityStatusCode.Unset, activity.Status);
    }

    [Fact]
    public void SetDecision_UnsampledSpan_SetsNothing()
    {
        using var listener = Listen(ActivitySamplingResult.PropagationData);
        using var activity = GatewayTelemetry.StartAuthorize();

        AuthorizeActivity.SetDecision(activity, Decision(), new SubjectHasher());
        AuthorizeActivity.SetDecision(null, Decision(), new SubjectHasher());

        Assert.NotNull(activity);
        Assert.False(activity.IsAllDataRequested);
        Assert.Empty(activity.TagObjects);
    }

    internal static AuthorizationDecision Decision()
    {
        var route = new CompiledRoute(
            new RoutePolicy
            {
                Id = "crm-get-customer",
                Path = "/crm/customers/{customerId}",
                Upstream = "crm",
                Action = "crm.customers:read",
                Resource = "crm:customer/{customerId}",
                Tier = "low",
            },
            new TierSettings { Name = "low", Risk = 1 },
            new GatewaySettings { Audience = "https://gateway.example" },
            new string('a', 64));
        var decision = new AuthorizationDecision { DecisionId = "d-1", Route = route };
        decision.Token = new CapabilityToken
        {
            Jti = "jti-1",
            Issuer = "https://idp.example",
            Subject = "alice@example.com",
            Agent = "agent:B",
            Actors = ["agent:B", "agent:A"],
            IssuedAt = DateTimeOffset.UnixEpoch,
            Expires = DateTimeOffset.UnixEpoch.AddHours(1),
            Grants = [],
            Chain = ["jti-0"],
            Intent = IntentMethod.StepUp,
        };
        decision.Resource = "crm:customer/42";
        decision.StepsRemaining = 0;
        decision.RiskRemaining = 90;
        decision.Refuse(GatewayError.StepLimitExceeded, "No steps left.");
        return decision;
    }

    private static ActivityListener Listen(ActivitySamplingResult sampling)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == GatewayTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => sampling,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    private static Dictionary<string, object?> ToDictionary(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var map = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            map[tag.Key] = tag.Value;
        }

        return map;
    }
}
