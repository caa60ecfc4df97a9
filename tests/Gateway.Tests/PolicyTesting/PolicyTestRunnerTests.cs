using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using Gateway.Policy;
using Gateway.PolicyTesting;
using Gateway.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.PolicyTesting;

public sealed class PolicyTestRunnerTests
{
    private static readonly GatewayPolicy DemoPolicy = PolicyLoader.Load(Path.Combine(RepositoryRoot(), "config", "gateway.yaml")).Policy!;

    [Fact]
    public async Task RunAsync_ClaimsWithRelativeTimes_AreSignedAndJudgedByTheRealValidatorAtTheRunsClock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 12, 0, 0, TimeSpan.Zero));
        using var runner = new PolicyTestRunner(DemoPolicy, time, realKeys: null);

        var fresh = await runner.RunAsync(Case("fresh", new JsonObject { ["iat"] = "-1m", ["exp"] = "+4m" }, "allow"));
        var tooLong = await runner.RunAsync(Case("too long", new JsonObject { ["iat"] = "0s", ["exp"] = "+2h" }, "invalid_token"));
        time.Advance(TimeSpan.FromMinutes(10));
        var expiredNow = await runner.RunAsync(Case("expired at the later clock", new JsonObject { ["iat"] = "-20m", ["exp"] = "-5m" }, "invalid_token"));

        Assert.True(fresh.Passed, fresh.Describe());
        Assert.True(tooLong.Passed, tooLong.Describe());
        Assert.Equal("deny invalid_token (lifetime_too_long)", tooLong.Decided);
        Assert.True(expiredNow.Passed, expiredNow.Describe());
    }

    [Fact]
    public async Task Validator_EachDistinctTokenValidated_RecordsItsLifetimeInSeconds()
    {
        var lifetimes = new List<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == GatewayTelemetry.Name && instrument.Name == GatewayTelemetry.TokenLifetimeInstrument)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, _, _) =>
        {
            lock (lifetimes)
            {
                lifetimes.Add(value);
            }
        });
        listener.Start();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 5, 2, 12, 0, 0, TimeSpan.Zero));
        using var runner = new PolicyTestRunner(DemoPolicy, time, realKeys: null);

        // A lifetime no other test uses, so measurements of tests running in parallel are told apart.
        var result = await runner.RunAsync(Case("lifetime", new JsonObject { ["iat"] = "-1m", ["exp"] = "+6m17s" }, "allow"));

        Assert.True(result.Passed, result.Describe());
        lock (lifetimes)
        {
            Assert.Single(lifetimes, l => l == 437);
        }
    }

    private static PolicyCase Case(string name, JsonObject times, string expect)
    {
        var claims = new JsonObject
        {
            ["sub"] = "user:alice",
            ["act"] = new JsonObject { ["sub"] = "agent:planner" },
            ["authorization_details"] = new JsonArray(new JsonObject
            {
                ["type"] = "agent_capability",
                ["actions"] = new JsonArray("crm.customers:read"),
                ["resources"] = new JsonArray("crm:customer/42"),
            }),
        };
        foreach (var (key, value) in times)
        {
            claims[key] = value?.DeepClone();
        }

        return new PolicyCase
        {
            Name = name,
            Location = new SourceLocation("cases.yaml", 1, 1),
            Claims = claims,
            Request = new PolicyCaseRequest { Path = "/crm/customers/42" },
            Expect = expect == "allow" ? new PolicyExpectation { Decision = "allow" } : new PolicyExpectation { Decision = "deny", Error = expect },
        };
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Gateway.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Run the tests from a checkout.");
    }
}
