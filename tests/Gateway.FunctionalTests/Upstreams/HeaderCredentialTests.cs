using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Gateway.FunctionalTests.Audit;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Upstreams;

/// <summary><c>upstreams.NAME.auth.header</c> (issue 13): a static secret header, brokered only on allowed calls.</summary>
public sealed class HeaderCredentialTests : IDisposable
{
    private readonly string _secrets = Directory.CreateTempSubdirectory("gateway-secrets-").FullName;

    [Fact]
    public async Task AllowedCall_UpstreamGetsTheSecretHeader_AndNeverTheAgentsToken()
    {
        var keyFile = WriteSecret("crm.key", "key-one-9f8e7d\n");
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(issuer, upstream, CredentialPolicies.With($"{{ header: {{ name: X-Api-Key, value_file: \"{keyFile}\" }} }}"));
        var token = issuer.Mint();

        using var response = await SendAsync(gateway, "/crm/customers/42", token, r => r.Headers.Add("X-Api-Key", "agent-forged"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(upstream.Received);
        Assert.Equal("key-one-9f8e7d", received.Headers["X-Api-Key"]);
        Assert.False(received.Headers.ContainsKey("Authorization"));
        Assert.DoesNotContain(received.Headers.Values, v => v.Contains(token.Split('.')[1], StringComparison.Ordinal));
    }

    [Fact]
    public async Task AuthorizationHeader_ReplacesTheAgentsToken()
    {
        var keyFile = WriteSecret("crm.bearer", "Bearer upstream-static-token");
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(issuer, upstream, CredentialPolicies.With($"{{ header: {{ name: Authorization, value_file: \"{keyFile}\" }} }}"));
        var token = issuer.Mint();

        using var response = await SendAsync(gateway, "/crm/customers/42", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Bearer upstream-static-token", Assert.Single(upstream.Received).Headers["Authorization"]);
    }

    [Fact]
    public async Task OtherUpstream_GetsNoCredential()
    {
        var keyFile = WriteSecret("crm.key", "key-only-for-crm");
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(issuer, upstream, CredentialPolicies.With($"{{ header: {{ name: X-Api-Key, value_file: \"{keyFile}\" }} }}"));

        using var response = await SendAsync(gateway, "/plain/1", issuer.Mint(issuer.Claims(action: "plain.items:read", resource: "plain:item/1")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(Assert.Single(upstream.Received).Headers.ContainsKey("X-Api-Key"));
    }

    [Fact]
    public async Task RefusedCall_IsNotForwarded_AndCarriesNoCredentialAnywhere()
    {
        var keyFile = WriteSecret("crm.key", "key-never-on-refusals");
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(issuer, upstream, CredentialPolicies.With($"{{ header: {{ name: X-Api-Key, value_file: \"{keyFile}\" }} }}"));

        using var response = await SendAsync(gateway, "/crm/customers/43", issuer.Mint());
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Empty(upstream.Received);
        Assert.DoesNotContain("key-never-on-refusals", body, StringComparison.Ordinal);
        Assert.DoesNotContain(response.Headers, h => h.Value.Any(v => v.Contains("key-never", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task RotatedFile_IsUsedWithinTwoSeconds()
    {
        var keyFile = WriteSecret("crm.key", "key-before-rotation");
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(issuer, upstream, CredentialPolicies.With($"{{ header: {{ name: X-Api-Key, value_file: \"{keyFile}\" }} }}"));
        var token = issuer.Mint();
        (await SendAsync(gateway, "/crm/customers/42", token)).Dispose();
        Assert.Equal("key-before-rotation", upstream.Received.Last().Headers["X-Api-Key"]);

        // As a Kubernetes Secret update does: the new content appears whole, by rename.
        File.WriteAllText(keyFile + ".new", "key-after-rotation\n");
        File.Move(keyFile + ".new", keyFile, overwrite: true);
        var rotated = DateTime.UtcNow;
        string seen;
        do
        {
            await Task.Delay(100);
            (await SendAsync(gateway, "/crm/customers/42", token)).Dispose();
            seen = upstream.Received.Last().Headers["X-Api-Key"];
        }
        while (seen != "key-after-rotation" && DateTime.UtcNow - rotated < TimeSpan.FromSeconds(5));

        Assert.Equal("key-after-rotation", seen);
        Assert.True(DateTime.UtcNow - rotated < TimeSpan.FromSeconds(2.5), $"the rotated key was first used after {(DateTime.UtcNow - rotated).TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task MissingFile_Gets503WithRetryAfter_IsNotForwarded_AndReadyzNamesTheUpstream()
    {
        var keyFile = Path.Combine(_secrets, "absent.key");
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(issuer, upstream, CredentialPolicies.With($"{{ header: {{ name: X-Api-Key, value_file: \"{keyFile}\" }} }}"));

        using var response = await SendAsync(gateway, "/crm/customers/42", issuer.Mint());

        var problem = await ProblemAssert.IsProblemAsync(response, 503, "upstream_credentials_unavailable");
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Contains("absent.key", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(upstream.Received);

        using var ready = await gateway.Admin.GetAsync("/readyz");
        var readiness = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("unavailable", readiness.GetProperty("upstreams").GetProperty("crm").GetProperty("credential").GetString());

        // Mounted late: picked up without a restart.
        File.WriteAllText(keyFile, "key-mounted-late");
        await Task.Delay(TimeSpan.FromSeconds(2));
        using var later = await SendAsync(gateway, "/crm/customers/42", issuer.Mint());
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
        Assert.Equal("key-mounted-late", Assert.Single(upstream.Received).Headers["X-Api-Key"]);
    }

    [Fact]
    public async Task ValueFromEnvironment_IsSent()
    {
        var name = "GATEWAY_TEST_KEY_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(name, "key-from-environment");
        try
        {
            using var issuer = new TestIssuer();
            await using var upstream = await UpstreamServer.StartAsync();
            await using var gateway = await TestGateway.StartAsync(issuer, upstream, CredentialPolicies.With($"{{ header: {{ name: X-Api-Key, value_env: {name} }} }}"));

            using var response = await SendAsync(gateway, "/crm/customers/42", issuer.Mint());

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("key-from-environment", Assert.Single(upstream.Received).Headers["X-Api-Key"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }

    [Fact]
    public async Task AuditEvent_NamesTheCredentialKindAndFile_NotItsValue()
    {
        var keyFile = WriteSecret("crm.key", "key-not-in-audit-3c2b1a");
        using var folder = new AuditFolder();
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        var gateway = await TestGateway.StartAsync(issuer, upstream, CredentialPolicies.With(
            $"{{ header: {{ name: X-Api-Key, value_file: \"{keyFile}\" }} }}",
            $"audit: {{ file: \"{folder.LiveFile}\" }}"));
        try
        {
            (await SendAsync(gateway, "/crm/customers/42", issuer.Mint())).Dispose();
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        var text = string.Join('\n', File.ReadAllLines(folder.LiveFile));
        Assert.DoesNotContain("key-not-in-audit", text, StringComparison.Ordinal);
        var allowed = Assert.Single(AuditTrail.ReadEvents(folder.LiveFile), e => e.GetProperty("decision").GetString() == "allow");
        var credential = allowed.GetProperty("upstream_credential");
        Assert.Equal("header", credential.GetProperty("kind").GetString());
        Assert.Equal("file:crm.key", credential.GetProperty("id").GetString());
    }

    public void Dispose() => Directory.Delete(_secrets, recursive: true);

    internal static Task<HttpResponseMessage> SendAsync(TestGateway gateway, string path, string token, Action<HttpRequestMessage>? configure = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        configure?.Invoke(request);
        return gateway.Client.SendAsync(request);
    }

    private string WriteSecret(string name, string value)
    {
        var path = Path.Combine(_secrets, name);
        File.WriteAllText(path, value);
        return path;
    }
}
