using System.Diagnostics;
using System.Net;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.StatusLists;
using Xunit.Abstractions;
using static Gateway.FunctionalTests.Revocation.RevocationApi;

namespace Gateway.FunctionalTests.StatusLists;

/// <summary>Check 3 against Token Status Lists (draft-ietf-oauth-status-list) served by a real loopback list server.</summary>
public sealed class StatusListTests(StatusListFixture fixture, ITestOutputHelper output) : IClassFixture<StatusListFixture>
{
    private static string NewPath() => "lists/" + Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task Call_EntryValid_Allowed_AndTheListIsFetchedOnceForManyCalls()
    {
        var path = NewPath();
        fixture.Lists.Publish(fixture.Issuer, path, size: 1024, revoked: [3]);
        var token = fixture.Mint(fixture.Lists.Url(path), 5);

        for (var i = 0; i < 20; i++)
        {
            await AssertAllowedAsync(await fixture.CallAsync(token));
        }

        // Twenty calls, one fetch: a list in memory costs no I/O.
        Assert.Equal(1, fixture.Lists.Requests(path));
    }

    [Fact]
    public async Task Call_EntrySet_RefusedAsRevoked_WithItsIndexInTheDetail()
    {
        var path = NewPath();
        fixture.Lists.Publish(fixture.Issuer, path, size: 1024, revoked: [3, 700]);

        await AssertRevokedAsync(await fixture.CallAsync(fixture.Mint(fixture.Lists.Url(path), 700)), detailContains: "status list entry 700 is INVALID");
        await AssertAllowedAsync(await fixture.CallAsync(fixture.Mint(fixture.Lists.Url(path), 701)));
    }

    [Fact]
    public async Task Call_TwoBitSuspended_RefusedAsRevoked()
    {
        var path = NewPath();
        fixture.Lists.Serve(path, StatusListServer.Sign(fixture.Issuer, fixture.Lists.Url(path), 2, StatusList.Encode([0b_00_10_01_00])));

        await AssertAllowedAsync(await fixture.CallAsync(fixture.Mint(fixture.Lists.Url(path), 0)));
        await AssertRevokedAsync(await fixture.CallAsync(fixture.Mint(fixture.Lists.Url(path), 1)), detailContains: "is INVALID");
        await AssertRevokedAsync(await fixture.CallAsync(fixture.Mint(fixture.Lists.Url(path), 2)), detailContains: "is SUSPENDED");
    }

    [Fact]
    public async Task BitFlipped_TokenRefusedWithinTheListsTtl()
    {
        const int Ttl = 2;
        var path = NewPath();
        fixture.Lists.Publish(fixture.Issuer, path, size: 256, revoked: [], ttl: Ttl);
        var token = fixture.Mint(fixture.Lists.Url(path), 42);
        await AssertAllowedAsync(await fixture.CallAsync(token));

        fixture.Lists.Publish(fixture.Issuer, path, size: 256, revoked: [42], ttl: Ttl);
        var flipped = Stopwatch.StartNew();
        HttpResponseMessage response;
        while ((response = await fixture.CallAsync(token)).StatusCode == HttpStatusCode.OK && flipped.Elapsed < TimeSpan.FromSeconds(Ttl * 3))
        {
            response.Dispose();
            await Task.Delay(50);
        }

        var elapsed = flipped.Elapsed;
        output.WriteLine($"Bit flipped on the list server; refused by the gateway after {elapsed.TotalMilliseconds:F0} ms (list ttl {Ttl} s), {fixture.Lists.Requests(path)} fetches in all");
        await AssertRevokedAsync(response, detailContains: "entry 42 is INVALID");

        // Within the ttl, plus one refresh tick and a fetch on a loaded machine.
        Assert.True(elapsed < TimeSpan.FromSeconds(Ttl) + TimeSpan.FromMilliseconds(750), $"refused only after {elapsed.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task ListServerDown_OnStoreFailureDeny_Is503PolicyStoreUnavailable()
    {
        var token = fixture.Mint(new Uri(fixture.DeadLists, NewPath()).ToString(), 1);

        using var response = await fixture.CallAsync(token);

        var problem = await ProblemAssert.IsProblemAsync(response, 503, "policy_store_unavailable");
        Assert.Equal("status_list_unavailable", problem.GetProperty("reason").GetString());
        Assert.Contains("could not be reached", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
        Assert.DoesNotContain(fixture.Upstream.Received, r => r.Headers.TryGetValue("Gateway-Subject", out var s) && s == RevocationPayloadSub(token));
    }

    [Fact]
    public async Task ListServerDown_AllowBelowTierLow_LowTierGoesOn_MediumRefused()
    {
        await using var gateway = await fixture.StartGatewayAsync("{ allow_below_tier: low }");
        var uri = new Uri(fixture.DeadLists, NewPath()).ToString();

        await AssertAllowedAsync(await fixture.CallAsync(fixture.Mint(uri, 1), gateway: gateway));
        using var medium = await fixture.CallAsync(fixture.Mint(uri, 2, action: "crm.customers:update"), HttpMethod.Patch, gateway);
        await ProblemAssert.IsProblemAsync(medium, 503, "policy_store_unavailable");
    }

    [Fact]
    public async Task ListServerStops_LastGoodListServesUntilItExpires_ThenUnavailable()
    {
        await using var server = await StatusListServer.StartAsync();
        var policy = fixture.Policy(null).Replace($"\"{fixture.DeadLists}lists/\"", $"\"{server.Address}lists/\"", StringComparison.Ordinal);
        await using var gateway = await TestGateway.StartAsync(fixture.Issuer, fixture.Upstream, policy, new Dictionary<string, string?> { ["Gateway:Store:Kind"] = "memory" });
        var path = NewPath();
        server.Publish(fixture.Issuer, path, size: 64, revoked: [], ttl: 2);
        var token = fixture.Mint(server.Url(path), 7);
        await AssertAllowedAsync(await fixture.CallAsync(token, gateway: gateway));

        await server.DisposeAsync();
        var stopped = Stopwatch.StartNew();
        HttpResponseMessage response;
        while ((response = await fixture.CallAsync(token, gateway: gateway)).StatusCode == HttpStatusCode.OK && stopped.Elapsed < TimeSpan.FromSeconds(6))
        {
            response.Dispose();
            await Task.Delay(50);
        }

        output.WriteLine($"List server stopped; the last good list served for {stopped.Elapsed.TotalMilliseconds:F0} ms more (ttl 2 s)");
        await ProblemAssert.IsProblemAsync(response, 503, "policy_store_unavailable");
        Assert.True(stopped.Elapsed < TimeSpan.FromSeconds(2) + TimeSpan.FromMilliseconds(750), $"served a list past its ttl: {stopped.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task UriOutsideTheIssuersStatusLists_RefusedAsInvalidToken_AndNeverFetched()
    {
        var path = "elsewhere/" + Guid.NewGuid().ToString("N")[..12];
        fixture.Lists.Publish(fixture.Issuer, path, size: 64, revoked: []);

        using var response = await fixture.CallAsync(fixture.Mint(fixture.Lists.Url(path), 1));

        var problem = await ProblemAssert.IsProblemAsync(response, 401, "invalid_token");
        Assert.Contains("status_lists", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, fixture.Lists.Requests(path));
    }

    [Fact]
    public async Task Introspect_EntrySet_Inactive_EntryValid_Active()
    {
        var path = NewPath();
        fixture.Lists.Publish(fixture.Issuer, path, size: 64, revoked: [9]);

        using var revoked = await PostFormAsync(fixture.Gateway, "/oauth/introspect", ("token", fixture.Mint(fixture.Lists.Url(path), 9)));
        using var valid = await PostFormAsync(fixture.Gateway, "/oauth/introspect", ("token", fixture.Mint(fixture.Lists.Url(path), 10)));

        Assert.Equal("""{"active":false}""", await revoked.Content.ReadAsStringAsync());
        Assert.Contains("\"active\":true", await valid.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static string RevocationPayloadSub(string token) => Payload(token).GetProperty("sub").GetString()!;
}
