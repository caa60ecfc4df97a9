using System.Net;
using System.Text.Json;
using Gateway.FunctionalTests.Audit;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.FunctionalTests.Telemetry;

namespace Gateway.FunctionalTests.Upstreams;

/// <summary>
/// Issue 13, privacy: the gateway now holds secrets (a static API key, a client secret, its assertion signing key)
/// and receives others (the access tokens it brokers). Every credential kind is driven down its allowed path and its
/// failure paths, then every place the gateway writes to is searched for the secret values: logs at every level,
/// spans, metric points, the audit trail, and every answer the agent got, headers included. The upstream is the one
/// place they must reach, and the test checks they did.
/// </summary>
public sealed class UpstreamSecretPrivacyTests : IDisposable
{
    private readonly string _apiKey = "APIKEY" + Guid.NewGuid().ToString("N");
    private readonly string _clientSecret = "CLIENTSECRET" + Guid.NewGuid().ToString("N");
    private readonly string _secrets = Directory.CreateTempSubdirectory("gateway-secrets-").FullName;
    private readonly List<string> _answers = [];

    [Fact]
    public async Task EveryCredentialKind_SecretValues_ReachOnlyTheUpstream()
    {
        using var folder = new AuditFolder();
        var capture = new TelemetryCapture();
        using var gatewayKey = new TestIssuer("https://gateway.test", "gateway-assertions");
        await using var server = await TestAuthorizationServer.StartAsync(_clientSecret, assertionIssuer: gatewayKey);
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        var keyFile = Write("crm.key", _apiKey + "\n");
        var secretFile = Write("client.secret", _clientSecret);
        var assertionKey = Write("assertion.jwk", gatewayKey.PrivateJwk);
        var policy = Policy
            .Replace("{{KEY_FILE}}", keyFile, StringComparison.Ordinal)
            .Replace("{{SECRET_FILE}}", secretFile, StringComparison.Ordinal)
            .Replace("{{ASSERTION_KEY}}", assertionKey, StringComparison.Ordinal)
            .Replace("{{TOKEN_URL}}", server.TokenUrl.ToString(), StringComparison.Ordinal)
            .Replace("{{ASSERTION_ISSUER}}", gatewayKey.Issuer, StringComparison.Ordinal)
            .Replace("{{AUDIT_FILE}}", folder.LiveFile, StringComparison.Ordinal);
        var gateway = await TestGateway.StartAsync(issuer, upstream, policy, configure: capture.Configure);
        try
        {
            var token = issuer.Mint(issuer.Claims(action: "crm.customers:read", resource: "crm:customer/*"));
            foreach (var path in new[] { "/key/customers/1", "/cc/customers/1", "/tx/customers/1" })
            {
                await CallAsync(gateway, path, token, HttpStatusCode.OK);
                await CallAsync(gateway, path, issuer.Mint(issuer.Claims(action: "crm.customers:list")), HttpStatusCode.Forbidden);
            }

            // The failure paths: the token endpoint down, then refusing the client, then the key file gone.
            server.Down = true;
            await CallAsync(gateway, "/cc/customers/2", issuer.Mint(issuer.Claims(action: "crm.customers:read", resource: "crm:customer/*", sub: "user:bob")), HttpStatusCode.OK);
            await CallAsync(gateway, "/tx/customers/2", issuer.Mint(issuer.Claims(action: "crm.customers:read", resource: "crm:customer/*", sub: "user:carol")), HttpStatusCode.ServiceUnavailable);
            server.Down = false;
            server.Secrets.Clear();
            await CallAsync(gateway, "/tx/customers/3", issuer.Mint(issuer.Claims(action: "crm.customers:read", resource: "crm:customer/*", sub: "user:dave")), HttpStatusCode.ServiceUnavailable);
            File.Delete(keyFile);
            await WaitForAsync(gateway, "/key/customers/4", token, HttpStatusCode.ServiceUnavailable);
            TelemetryCapture.Flush(gateway.Services);
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        // What reached the upstream: the key, the client-credentials token and the exchanged token, each once at least.
        var presented = upstream.Received.SelectMany(r => r.Headers.Where(h => h.Key is "Authorization" or "X-Api-Key").Select(h => h.Value)).ToList();
        Assert.Contains(_apiKey, presented);
        var brokered = presented.Where(v => v.StartsWith("Bearer ", StringComparison.Ordinal)).Select(v => v["Bearer ".Length..]).Distinct().ToList();
        Assert.Equal(2, brokered.Count);
        var secrets = new List<string> { _apiKey, _clientSecret, JsonDocument.Parse(gatewayKey.PrivateJwk).RootElement.GetProperty("d").GetString()! };
        foreach (var accessToken in brokered)
        {
            secrets.Add(accessToken);
            secrets.Add(accessToken.Split('.')[2]);
        }

        var events = AuditTrail.ReadEvents(folder.LiveFile);
        Assert.Contains(events, e => e.GetProperty("error").GetString() == "upstream_credentials_unavailable");
        Assert.Contains(events, e => e.GetProperty("upstream_credential").ValueKind == JsonValueKind.Object);
        var audit = string.Join('\n', Gateway.Audit.JsonLinesAuditSink.GetChainFiles(folder.LiveFile).Select(File.ReadAllText));
        var logs = capture.Logs.Entries.Snapshot().Select(l => l.ToString()).ToList();
        var spans = capture.Spans.Snapshot().Select(TelemetryCapture.Describe).ToList();
        var metrics = capture.Metrics.Snapshot().SelectMany(TelemetryCapture.Describe).ToList();
        Assert.Contains(capture.Logs.Entries.Snapshot(), l => l.Level <= Microsoft.Extensions.Logging.LogLevel.Debug);
        Assert.NotEmpty(spans);
        Assert.NotEmpty(metrics);

        AssertNone("log", logs, secrets);
        AssertNone("span", spans, secrets);
        AssertNone("metric", metrics, secrets);
        AssertNone("audit trail", [audit], secrets);
        AssertNone("answer to the agent", _answers, secrets);
    }

    public void Dispose() => Directory.Delete(_secrets, recursive: true);

    private const string Policy = """
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
        audit:
          file: "{{AUDIT_FILE}}"
        upstreams:
          key:
            destinations: [ {{UPSTREAM}} ]
            auth: { header: { name: X-Api-Key, value_file: "{{KEY_FILE}}" } }
          cc:
            destinations: [ {{UPSTREAM}} ]
            auth: { oauth2_client_credentials: { token_url: "{{TOKEN_URL}}", client_id: gateway-client, client_secret_file: "{{SECRET_FILE}}", scope: crm.read } }
          tx:
            destinations: [ {{UPSTREAM}} ]
            auth: { token_exchange: { token_url: "{{TOKEN_URL}}", client_id: gateway-client, client_secret_file: "{{SECRET_FILE}}", audience: "https://api.crm.test", issuer: "{{ASSERTION_ISSUER}}", signing_key_file: "{{ASSERTION_KEY}}" } }
        routes:
          - { id: key-get, match: { methods: [GET], path: "/key/customers/{id}" }, upstream: key, action: crm.customers:read, resource: "crm:customer/{id}", tier: low }
          - { id: cc-get, match: { methods: [GET], path: "/cc/customers/{id}" }, upstream: cc, action: crm.customers:read, resource: "crm:customer/{id}", tier: low }
          - { id: tx-get, match: { methods: [GET], path: "/tx/customers/{id}" }, upstream: tx, action: crm.customers:read, resource: "crm:customer/{id}", tier: low }
        """;

    private async Task CallAsync(TestGateway gateway, string path, string token, HttpStatusCode expect)
    {
        using var response = await HeaderCredentialTests.SendAsync(gateway, path, token);
        var text = await response.Content.ReadAsStringAsync();
        var headers = response.Headers.Concat(response.Content.Headers).Select(h => $"{h.Key}: {string.Join(", ", h.Value)}");
        _answers.Add($"{path} {(int)response.StatusCode}\n{string.Join('\n', headers)}\n\n{text}");
        Assert.True(response.StatusCode == expect, $"{path}: expected {(int)expect}, got {(int)response.StatusCode}: {text}");
    }

    /// <summary>The key file is re-read every second: calls until the deletion is seen.</summary>
    private async Task WaitForAsync(TestGateway gateway, string path, string token, HttpStatusCode expect)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (true)
        {
            using var response = await HeaderCredentialTests.SendAsync(gateway, path, token);
            var text = await response.Content.ReadAsStringAsync();
            _answers.Add($"{path} {(int)response.StatusCode}\n{string.Join('\n', response.Headers.Select(h => $"{h.Key}: {string.Join(", ", h.Value)}"))}\n\n{text}");
            if (response.StatusCode == expect)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{path}: still {(int)response.StatusCode} after 5 s");
            await Task.Delay(200);
        }
    }

    private string Write(string name, string value)
    {
        var path = Path.Combine(_secrets, name);
        File.WriteAllText(path, value);
        return path;
    }

    private static void AssertNone(string where, IEnumerable<string> haystack, IReadOnlyList<string> secrets)
    {
        foreach (var text in haystack)
        {
            foreach (var secret in secrets)
            {
                Assert.False(text.Contains(secret, StringComparison.Ordinal), $"A {where} holds a secret ({secret[..Math.Min(12, secret.Length)]}...):\n{(text.Length > 2000 ? text[..2000] + "..." : text)}");
            }
        }
    }
}
