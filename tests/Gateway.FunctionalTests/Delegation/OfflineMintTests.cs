using System.Diagnostics;
using static Gateway.FunctionalTests.Revocation.RevocationApi;

namespace Gateway.FunctionalTests.Delegation;

/// <summary>
/// <c>gateway token mint --parent</c>, the offline counterpart of <c>POST /delegations</c> for tests and demos: the real
/// CLI (the built <c>gateway.dll</c>, in its own process) signs a child with the gateway's delegation key, and the
/// gateway accepts it as a delegated token: <c>act</c> and <c>cap.chain</c> extended, the parent's revocation cutting
/// it off.
/// </summary>
public sealed class OfflineMintTests(DelegationGatewayFixture fixture) : IClassFixture<DelegationGatewayFixture>
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(60);

    private string[] MintArguments(string sub, string agent, string parent, string resource = "crm:customer/42") =>
    [
        "token", "mint",
        "--key", fixture.SigningKeyFile,
        "--iss", DelegationGatewayFixture.DelegationIssuer,
        "--aud", Infrastructure.TestIssuer.Audience,
        "--sub", sub,
        "--agent", agent,
        "--action", "crm.customers:read",
        "--resource", resource,
        "--ttl", "5m",
        "--parent", parent,
    ];

    [Fact]
    public async Task TokenMintWithParent_ExtendsActAndChain_AndTheGatewayAcceptsTheChildAndItsChild()
    {
        var sub = Unique("user:offline-");
        var parent = fixture.Parent(sub);

        var child = await MintAsync(MintArguments(sub, "agent:offline-executor", parent));
        var grandchild = await MintAsync(MintArguments(sub, "agent:offline-worker", child));

        var claims = Payload(child);
        Assert.Equal(sub, claims.GetProperty("sub").GetString());
        Assert.Equal(DelegationGatewayFixture.DelegationIssuer, claims.GetProperty("iss").GetString());
        Assert.Equal("""{"sub":"agent:offline-executor","act":{"sub":"agent:planner"}}""", claims.GetProperty("act").GetRawText());
        Assert.Equal([Jti(parent)], claims.GetProperty("cap").GetProperty("chain").EnumerateArray().Select(j => j.GetString()));
        var grandclaims = Payload(grandchild);
        Assert.Equal("""{"sub":"agent:offline-worker","act":{"sub":"agent:offline-executor","act":{"sub":"agent:planner"}}}""", grandclaims.GetProperty("act").GetRawText());
        Assert.Equal([Jti(child), Jti(parent)], grandclaims.GetProperty("cap").GetProperty("chain").EnumerateArray().Select(j => j.GetString()));

        await AssertAllowedAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", child));
        await AssertAllowedAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", grandchild));

        var rule = (await RevokeAsync(fixture.Gateway, "jti", Jti(parent))).GetProperty("id").GetString();
        await AssertRevokedAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", child), rule, "delegated from");
        await AssertRevokedAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", grandchild), rule, "delegated from");
    }

    [Fact]
    public async Task TokenMintWithParent_AndAnotherSub_FailsWithASentenceNotAStackTrace()
    {
        var parent = fixture.Parent(Unique("user:offline-"));

        var (code, stdout, stderr) = await RunAsync(MintArguments("user:mallory", "agent:offline-executor", parent));

        Assert.Equal(1, code);
        Assert.Equal("", stdout.Trim());
        Assert.Contains("same subject as its parent", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenMintWithParent_TooDeepOrCyclic_MintsAChildTheGatewayRefuses()
    {
        // Offline minting does not know the policy; the gateway's check 5 is what holds.
        var sub = Unique("user:offline-");
        var deep = fixture.Parent(sub, actors: ["agent:c", "agent:b", "agent:a"]);
        var shallow = fixture.Parent(sub, actors: ["agent:b", "agent:a"]);

        var child = await MintAsync(MintArguments(sub, "agent:d", deep));
        var cycle = await MintAsync(MintArguments(sub, "agent:a", shallow));

        var tooDeep = await Infrastructure.ProblemAssert.IsProblemAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", child), 403, "delegation_denied");
        var repeated = await Infrastructure.ProblemAssert.IsProblemAsync(await fixture.SendAsync(HttpMethod.Get, "/crm/customers/42", cycle), 403, "delegation_denied");
        Assert.Equal("too_deep", tooDeep.GetProperty("reason").GetString());
        Assert.Equal("cycle", repeated.GetProperty("reason").GetString());
    }

    private static async Task<string> MintAsync(string[] arguments)
    {
        var (code, stdout, stderr) = await RunAsync(arguments);
        Assert.True(code == 0, $"gateway token mint exited {code}: {stderr}");
        var token = stdout.Trim();
        Assert.Equal(3, token.Split('.').Length);
        return token;
    }

    /// <summary>Runs the built CLI (<c>dotnet exec gateway.dll ...</c>); a run past the timeout is killed by its process id.</summary>
    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "gateway.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(CliTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"gateway {string.Join(' ', arguments.Take(2))} did not exit within {CliTimeout}.");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
