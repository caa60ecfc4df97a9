using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Revocation;

/// <summary>
/// One gateway (real Kestrel, real upstream) for a class of revocation tests, on the in-memory store or on a
/// real <c>redis-server</c>. Revocation rules cannot be deleted, so every test revokes values of its own
/// (<see cref="RevocationApi.Unique"/>) and never a value another test's tokens carry.
/// </summary>
public abstract class RevocationGatewayFixture : IAsyncLifetime
{
    /// <summary>The functional tests' policy, plus an audit file for the runbook's "check the audit trail" step.</summary>
    public static readonly string Policy = TestPolicies.Default + "\naudit:\n  file: audit/decisions.jsonl\n";

    public TestIssuer Issuer { get; } = new();
    public UpstreamServer Upstream { get; private set; } = null!;
    public TestGateway Gateway { get; private set; } = null!;

    /// <summary>The store settings every replica of this fixture starts with.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; protected set; } = new Dictionary<string, string?>();

    public virtual async Task InitializeAsync()
    {
        Upstream = await UpstreamServer.StartAsync();
        Gateway = await StartReplicaAsync();
    }

    /// <summary>Another gateway on the same store (the caller disposes it).</summary>
    public Task<TestGateway> StartReplicaAsync() => TestGateway.StartAsync(Issuer, Upstream, PolicyOverride ?? Policy, Settings);

    /// <summary>A policy of a derived fixture's own (the signals tests add a <c>signals</c> section); null for <see cref="Policy"/>.</summary>
    protected string? PolicyOverride { get; init; }

    public virtual async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
        Issuer.Dispose();
    }
}

public sealed class InMemoryRevocationGatewayFixture : RevocationGatewayFixture
{
    public InMemoryRevocationGatewayFixture() => Settings = new Dictionary<string, string?> { ["Gateway:Store:Kind"] = "memory" };
}

public sealed class RedisRevocationGatewayFixture : RevocationGatewayFixture
{
    private RedisServer? _redis;

    public RedisServer Redis => _redis ?? throw new InvalidOperationException("The fixture is not initialised.");

    public override async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        Settings = new Dictionary<string, string?> { ["Gateway:Store:Redis"] = _redis.ConnectionString };
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }
}

/// <summary>What the revocation and delegation tests do through the gateway: mint, call, revoke, list.</summary>
public static class RevocationApi
{
    /// <summary>Enough steps for a token that is polled until it is refused.</summary>
    public const int ManySteps = 100_000;

    public static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N")[..12];

    /// <summary>
    /// A token for <c>GET /crm/customers/*</c> from the test issuer. <paramref name="actors"/> is the <c>act</c> chain,
    /// outermost (the calling agent) first; <paramref name="chain"/> the ancestors' <c>jti</c>s, nearest first.
    /// </summary>
    public static string Mint(
        TestIssuer issuer,
        string sub,
        string[] actors,
        string? clientId = "agent-runtime",
        string? jti = null,
        DateTimeOffset? issuedAt = null,
        string[]? chain = null,
        int maxSteps = ManySteps)
    {
        var claims = issuer.Claims(resource: "crm:customer/**", sub: sub, agent: actors[0]);
        claims["act"] = Actors(actors);
        if (clientId is null)
        {
            claims.Remove("client_id");
        }
        else
        {
            claims["client_id"] = clientId;
        }

        if (jti is not null)
        {
            claims["jti"] = jti;
        }

        if (issuedAt is { } iat)
        {
            claims["iat"] = iat.ToUnixTimeSeconds();
            claims["exp"] = iat.ToUnixTimeSeconds() + 600;
        }

        var cap = new JsonObject { ["max_steps"] = maxSteps };
        if (chain is { Length: > 0 })
        {
            cap["chain"] = new JsonArray([.. chain.Select(c => (JsonNode)c!)]);
        }

        claims["cap"] = cap;
        return issuer.Mint(claims);
    }

    private static JsonObject Actors(ReadOnlySpan<string> actors)
    {
        var act = new JsonObject { ["sub"] = actors[0] };
        if (actors.Length > 1)
        {
            act["act"] = Actors(actors[1..]);
        }

        return act;
    }

    /// <summary>The token's payload (not verified: the tests read what they minted or were given).</summary>
    public static JsonElement Payload(string token) =>
        JsonDocument.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(token.Split('.')[1])).RootElement.Clone();

    public static string Jti(string token) => Payload(token).GetProperty("jti").GetString()!;

    public static Task<HttpResponseMessage> CallAsync(TestGateway gateway, string token, string customer = "42")
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/crm/customers/" + customer);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return gateway.Client.SendAsync(request);
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>An <c>application/x-www-form-urlencoded</c> POST to the admin listener with the admin key (the OAuth endpoints).</summary>
    public static Task<HttpResponseMessage> PostFormAsync(TestGateway gateway, string path, params (string Name, string Value)[] fields) =>
        gateway.AdminSendAsync(HttpMethod.Post, path, new FormUrlEncodedContent(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value))));

    /// <summary>POSTs a revocation with the admin key and returns the created rule; fails the test on anything but 201.</summary>
    public static async Task<JsonElement> RevokeAsync(TestGateway gateway, string kind, string value, DateTimeOffset? issuedBefore = null, string reason = "test: compromised")
    {
        var body = new JsonObject { [kind] = value, ["reason"] = reason };
        if (issuedBefore is { } cutOff)
        {
            body["issued_before"] = cutOff.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        }

        using var response = await gateway.AdminSendAsync(HttpMethod.Post, "/revocations", Json(body.ToJsonString()));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST /revocations: {(int)response.StatusCode} {text}");
        var rule = JsonDocument.Parse(text).RootElement.Clone();
        Assert.Equal("/revocations/" + rule.GetProperty("id").GetString(), response.Headers.Location?.OriginalString);
        return rule;
    }

    /// <summary><c>GET /revocations</c> with the admin key.</summary>
    public static async Task<JsonElement> ListAsync(TestGateway gateway)
    {
        using var response = await gateway.AdminSendAsync(HttpMethod.Get, "/revocations");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET /revocations: {(int)response.StatusCode} {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task<int> CountAsync(TestGateway gateway)
    {
        var list = await ListAsync(gateway);
        var count = list.GetProperty("count").GetInt32();
        Assert.Equal(count, list.GetProperty("revocations").GetArrayLength());
        return count;
    }

    /// <summary>
    /// Check 3's refusal: 401 <c>invalid_token</c>, reason <c>revoked</c>, a Bearer challenge, a detail that names the
    /// rule (<paramref name="ruleId"/>) and, when given, says which claim matched.
    /// </summary>
    public static async Task<JsonElement> AssertRevokedAsync(HttpResponseMessage response, string? ruleId = null, string? detailContains = null)
    {
        var problem = await ProblemAssert.IsProblemAsync(response, 401, "invalid_token");
        Assert.Equal("revoked", problem.GetProperty("reason").GetString());
        var challenge = ProblemAssert.Challenge(response);
        Assert.StartsWith("Bearer ", challenge, StringComparison.Ordinal);
        Assert.Contains("error=\"invalid_token\"", challenge, StringComparison.Ordinal);
        var detail = problem.GetProperty("detail").GetString()!;
        if (ruleId is not null)
        {
            Assert.Contains(ruleId, detail, StringComparison.Ordinal);
        }

        if (detailContains is not null)
        {
            Assert.Contains(detailContains, detail, StringComparison.Ordinal);
        }

        return problem;
    }

    public static async Task AssertAllowedAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200, got {(int)response.StatusCode}: {text}");
    }

    /// <summary>An admin API problem: status, <c>application/problem+json</c>, <c>error</c> and the <c>detail</c> sentence.</summary>
    public static async Task<string> AssertAdminProblemAsync(HttpResponseMessage response, int status, string error)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"Expected {status} {error}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var json = JsonDocument.Parse(text).RootElement;
        Assert.Equal(error, json.GetProperty("error").GetString());
        Assert.Equal(status, json.GetProperty("status").GetInt32());
        Assert.Matches("^[0-9a-f]{32}$", json.GetProperty("trace_id").GetString());
        var detail = json.GetProperty("detail").GetString();
        Assert.False(string.IsNullOrWhiteSpace(detail));
        return detail!;
    }
}
