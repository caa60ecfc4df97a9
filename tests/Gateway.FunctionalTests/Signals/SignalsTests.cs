using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.FunctionalTests.Revocation;
using Xunit.Abstractions;
using static Gateway.FunctionalTests.Revocation.RevocationApi;

namespace Gateway.FunctionalTests.Signals;

/// <summary>Security event tokens as an SSF transmitter sends them (RFC 8417, RFC 8935) to <c>POST /signals/events</c>.</summary>
public static class SignalApi
{
    public const string Audience = "https://gateway.test/signals";
    public const string SessionRevoked = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
    public const string CredentialChange = "https://schemas.openid.net/secevent/caep/event-type/credential-change";
    public const string AccountDisabled = "https://schemas.openid.net/secevent/risc/event-type/account-disabled";

    /// <summary>The revocation fixtures' policy with the test issuer as a transmitter.</summary>
    public static readonly string Policy = RevocationGatewayFixture.Policy + """

        signals:
          max_age: 2m
          transmitters:
            - issuer: {{ISSUER}}
              audience: https://gateway.test/signals

        """;

    /// <summary>The SET's claims: an event about <paramref name="sub"/> (<c>iss_sub</c>) at <paramref name="eventTime"/>.</summary>
    public static JsonObject Claims(TestIssuer issuer, string sub, string eventType = SessionRevoked, DateTimeOffset? eventTime = null, DateTimeOffset? iat = null, string? audience = Audience, string? jti = null)
    {
        var ev = new JsonObject();
        if (eventTime is { } at)
        {
            ev["event_timestamp"] = at.ToUnixTimeSeconds();
        }

        var claims = new JsonObject
        {
            ["iss"] = issuer.Issuer,
            ["iat"] = (iat ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds(),
            ["jti"] = jti ?? Guid.NewGuid().ToString("N"),
            ["sub_id"] = new JsonObject { ["format"] = "iss_sub", ["iss"] = issuer.Issuer, ["sub"] = sub },
            ["events"] = new JsonObject { [eventType] = ev },
        };
        if (audience is not null)
        {
            claims["aud"] = audience;
        }

        return claims;
    }

    /// <summary>Each hostile SET by name, and the <c>err</c> it is refused with.</summary>
    public static TheoryData<string, string> Hostile => new()
    {
        { "forged", "invalid_key" },
        { "wrong-audience", "invalid_audience" },
        { "no-audience", "invalid_audience" },
        { "expired", "invalid_request" },
        { "future", "invalid_request" },
        { "wrong-typ", "invalid_request" },
        { "alg-none", "invalid_request" },
        { "hs256-with-public-key", "invalid_request" },
        { "unknown-issuer", "invalid_issuer" },
        { "no-jti", "invalid_request" },
        { "no-events", "invalid_request" },
        { "not-a-jws", "invalid_request" },
        { "tampered", "invalid_key" },
    };

    public static string Sign(TestIssuer issuer, JsonObject claims, string typ = "secevent+jwt") => issuer.Sign(issuer.Header(typ: typ), claims);

    public static async Task<HttpResponseMessage> PushAsync(TestGateway gateway, string set, string contentType = "application/secevent+jwt", string? key = TestGateway.AdminKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/signals/events") { Content = new StringContent(set, Encoding.ASCII) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return await gateway.Admin.SendAsync(request);
    }

    public static async Task AcceptedAsync(TestGateway gateway, string set)
    {
        using var response = await PushAsync(gateway, set);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"POST /signals/events: {(int)response.StatusCode} {text}");
    }

    /// <summary>RFC 8935 section 2.3: the status and <c>{"err", "description"}</c>.</summary>
    public static async Task RefusedAsync(HttpResponseMessage response, string err, int status = 400)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"Expected {status} {err}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var json = JsonDocument.Parse(text).RootElement;
        Assert.Equal(err, json.GetProperty("err").GetString());
        Assert.False(string.IsNullOrWhiteSpace(json.GetProperty("description").GetString()));
    }
}

public abstract class SignalsFixture : RevocationGatewayFixture
{
    protected SignalsFixture() => PolicyOverride = SignalApi.Policy;
}

/// <summary>The SSF push receiver through one real gateway, on the in-memory store and on a real redis-server.</summary>
public abstract class SignalsTests<TFixture>(TFixture fixture)
    where TFixture : RevocationGatewayFixture
{
    private TestGateway Gateway => fixture.Gateway;

    private TestIssuer Issuer => fixture.Issuer;

    [Theory]
    [InlineData(SignalApi.SessionRevoked)]
    [InlineData(SignalApi.CredentialChange)]
    [InlineData(SignalApi.AccountDisabled)]
    [InlineData("https://schemas.openid.net/secevent/caep/event-type/token-claims-change")]
    [InlineData("https://schemas.openid.net/secevent/caep/event-type/assurance-level-change")]
    public async Task EachEvent_RevokesTheSubsTokensIssuedBeforeIt_AndNotLaterOnesOrOtherUsers(string eventType)
    {
        var eventTime = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 5);
        var sub = Unique("user:signal-");
        var before = Mint(Issuer, sub, ["agent:planner"], issuedAt: eventTime.AddSeconds(-1));
        var after = Mint(Issuer, sub, ["agent:planner"], issuedAt: eventTime);
        var other = Mint(Issuer, Unique("user:bystander-"), ["agent:planner"], issuedAt: eventTime.AddSeconds(-1));
        await AssertAllowedAsync(await CallAsync(Gateway, before));

        await SignalApi.AcceptedAsync(Gateway, SignalApi.Sign(Issuer, SignalApi.Claims(Issuer, sub, eventType, eventType.Contains("/risc/", StringComparison.Ordinal) ? null : eventTime, iat: eventType.Contains("/risc/", StringComparison.Ordinal) ? eventTime : null)));

        await AssertRevokedAsync(await CallAsync(Gateway, before), detailContains: "Tokens for this user have been revoked");
        await AssertAllowedAsync(await CallAsync(Gateway, after));
        await AssertAllowedAsync(await CallAsync(Gateway, other));
        var rule = Assert.Single((await ListAsync(Gateway)).GetProperty("revocations").EnumerateArray(), r => r.TryGetProperty("sub", out var s) && s.GetString() == sub);
        Assert.Equal(eventTime, rule.GetProperty("issued_before").GetDateTimeOffset());
        Assert.StartsWith("SSF ", rule.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }


    [Theory]
    [MemberData(nameof(SignalApi.Hostile), MemberType = typeof(SignalApi))]
    public async Task HostileSet_IsRefusedWithItsErr_AndRevokesNothing(string kind, string err)
    {
        var sub = Unique("user:hostile-");
        var token = Mint(Issuer, sub, ["agent:planner"], issuedAt: DateTimeOffset.UtcNow.AddSeconds(-10));
        var claims = SignalApi.Claims(Issuer, sub);
        using var forger = new TestIssuer(Issuer.Issuer, Issuer.Kid);
        using var stranger = new TestIssuer("https://stranger.test", Issuer.Kid);
        var set = kind switch
        {
            "forged" => SignalApi.Sign(forger, claims),
            "wrong-audience" => SignalApi.Sign(Issuer, SignalApi.Claims(Issuer, sub, audience: TestIssuer.Audience)),
            "no-audience" => SignalApi.Sign(Issuer, SignalApi.Claims(Issuer, sub, audience: null)),
            "expired" => SignalApi.Sign(Issuer, SignalApi.Claims(Issuer, sub, iat: DateTimeOffset.UtcNow.AddMinutes(-10))),
            "future" => SignalApi.Sign(Issuer, SignalApi.Claims(Issuer, sub, iat: DateTimeOffset.UtcNow.AddMinutes(10))),
            "wrong-typ" => SignalApi.Sign(Issuer, claims, typ: "at+jwt"),
            "alg-none" => TestIssuer.Base64Url(Encoding.UTF8.GetBytes("{\"alg\":\"none\",\"typ\":\"secevent+jwt\"}")) + "." + TestIssuer.Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString())) + ".",
            "hs256-with-public-key" => Issuer.MintHs256WithPublicKey(claims),
            "unknown-issuer" => SignalApi.Sign(stranger, SignalApi.Claims(stranger, sub)),
            "no-jti" => SignalApi.Sign(Issuer, Without(claims, "jti")),
            "no-events" => SignalApi.Sign(Issuer, Without(claims, "events")),
            "not-a-jws" => "this is not a SET",
            "tampered" => Tamper(SignalApi.Sign(Issuer, claims), SignalApi.Claims(Issuer, Unique("user:victim-"))),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var count = await CountAsync(Gateway);

        using var response = await SignalApi.PushAsync(Gateway, set);

        await SignalApi.RefusedAsync(response, err);
        Assert.Equal(count, await CountAsync(Gateway));
        await AssertAllowedAsync(await CallAsync(Gateway, token));
    }

    [Fact]
    public async Task ReplayedSet_IsRefused_AndTheFirstDeliveryAloneRevokes()
    {
        var sub = Unique("user:replay-");
        var set = SignalApi.Sign(Issuer, SignalApi.Claims(Issuer, sub));
        await SignalApi.AcceptedAsync(Gateway, set);
        var count = await CountAsync(Gateway);

        using var replay = await SignalApi.PushAsync(Gateway, set);

        await SignalApi.RefusedAsync(replay, "invalid_request");
        Assert.Contains("replay", await replay.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(count, await CountAsync(Gateway));
    }

    [Fact]
    public async Task WithoutTheAdminKey_Is401AuthenticationFailed_AndWrongMediaType400()
    {
        var sub = Unique("user:unauth-");
        var set = SignalApi.Sign(Issuer, SignalApi.Claims(Issuer, sub));
        var count = await CountAsync(Gateway);

        using (var none = await SignalApi.PushAsync(Gateway, set, key: null))
        {
            await SignalApi.RefusedAsync(none, "authentication_failed", 401);
        }

        using (var json = await SignalApi.PushAsync(Gateway, set, contentType: "application/json"))
        {
            await SignalApi.RefusedAsync(json, "invalid_request");
        }

        Assert.Equal(count, await CountAsync(Gateway));

        // Neither refusal used up the jti: the well-formed delivery is still accepted.
        await SignalApi.AcceptedAsync(Gateway, set);
    }

    [Fact]
    public async Task UnknownEventsAndSubjects_AreAccepted_AndRevokeNothing()
    {
        var count = await CountAsync(Gateway);
        var unknownEvent = SignalApi.Claims(Issuer, Unique("user:x-"), "https://schemas.openid.net/secevent/caep/event-type/device-compliance-change");
        var email = SignalApi.Claims(Issuer, "ignored");
        email["sub_id"] = new JsonObject { ["format"] = "email", ["email"] = "alice@example.com" };
        var foreignIss = SignalApi.Claims(Issuer, "ignored");
        foreignIss["sub_id"] = new JsonObject { ["format"] = "iss_sub", ["iss"] = "https://stranger.test", ["sub"] = "user:alice" };

        foreach (var claims in new[] { unknownEvent, email, foreignIss })
        {
            await SignalApi.AcceptedAsync(Gateway, SignalApi.Sign(Issuer, claims));
        }

        Assert.Equal(count, await CountAsync(Gateway));
    }

    [Fact]
    public async Task AcceptedAndRefusedSets_AreAudited()
    {
        var jti = Guid.NewGuid().ToString("N");
        await SignalApi.AcceptedAsync(Gateway, SignalApi.Sign(Issuer, SignalApi.Claims(Issuer, Unique("user:audit-"), jti: jti)));
        using var forger = new TestIssuer(Issuer.Issuer, Issuer.Kid);
        using (var refused = await SignalApi.PushAsync(Gateway, SignalApi.Sign(forger, SignalApi.Claims(Issuer, "user:any"))))
        {
            await SignalApi.RefusedAsync(refused, "invalid_key");
        }

        var path = Path.Combine(Gateway.Directory, "audit", "decisions.jsonl");
        static string? Action(JsonElement e) => e.GetProperty("decision").GetString() == "admin" ? e.GetProperty("admin").GetProperty("action").GetString() : null;
        var events = await GatewayRevocationTests<RevocationGatewayFixture>.EventuallyReadAsync(path, lines =>
            lines.Any(e => Action(e) == "signals.accepted" && e.GetProperty("admin").GetProperty("target").GetString()!.Contains(jti, StringComparison.Ordinal))
            && lines.Any(e => Action(e) == "signals.refused" && e.GetProperty("admin").GetProperty("target").GetString() == "set:invalid_key"));
        var accepted = Assert.Single(events, e => Action(e) == "signals.accepted" && e.GetProperty("admin").GetProperty("target").GetString()!.Contains(jti, StringComparison.Ordinal));
        Assert.Contains("rules:rev_", accepted.GetProperty("admin").GetProperty("target").GetString(), StringComparison.Ordinal);
        Assert.Equal(202, accepted.GetProperty("status").GetInt32());
    }

    private static JsonObject Without(JsonObject claims, string name)
    {
        claims.Remove(name);
        return claims;
    }

    // The signature of one SET over another's payload.
    private static string Tamper(string set, JsonObject otherClaims)
    {
        var parts = set.Split('.');
        return parts[0] + "." + TestIssuer.Base64Url(Encoding.UTF8.GetBytes(otherClaims.ToJsonString())) + "." + parts[2];
    }
}

public sealed class InMemorySignalsFixture : SignalsFixture
{
    public InMemorySignalsFixture() => Settings = new Dictionary<string, string?> { ["Gateway:Store:Kind"] = "memory" };
}

public sealed class RedisSignalsFixture : SignalsFixture
{
    private RedisServer? _redis;

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

public sealed class InMemorySignalsTests(InMemorySignalsFixture fixture)
    : SignalsTests<InMemorySignalsFixture>(fixture), IClassFixture<InMemorySignalsFixture>;

public sealed class RedisSignalsTests(RedisSignalsFixture fixture)
    : SignalsTests<RedisSignalsFixture>(fixture), IClassFixture<RedisSignalsFixture>;

/// <summary>Two replicas on one real redis-server: a SET pushed to A revokes on both within 1 s, and its replay to B is refused.</summary>
public sealed class SignalsPropagationTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TestIssuer _issuer = new();
    private RedisServer _redis = null!;
    private UpstreamServer _upstream = null!;
    private TestGateway _a = null!;
    private TestGateway _b = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        var settings = new Dictionary<string, string?> { ["Gateway:Store:Redis"] = _redis.ConnectionString };
        _upstream = await UpstreamServer.StartAsync();
        _a = await TestGateway.StartAsync(_issuer, _upstream, SignalApi.Policy, settings);
        _b = await TestGateway.StartAsync(_issuer, _upstream, SignalApi.Policy, settings);
    }

    public async Task DisposeAsync()
    {
        await _b.DisposeAsync();
        await _a.DisposeAsync();
        await _upstream.DisposeAsync();
        await _redis.DisposeAsync();
        _issuer.Dispose();
    }

    [Theory]
    [InlineData(SignalApi.SessionRevoked)]
    [InlineData(SignalApi.CredentialChange)]
    [InlineData(SignalApi.AccountDisabled)]
    public async Task SetPushedToReplicaA_IsEnforcedByBothWithinOneSecond_AndItsReplayToReplicaBIsRefused(string eventType)
    {
        var sub = Unique("user:ssf-replicas-");
        var token = Mint(_issuer, sub, ["agent:planner"], issuedAt: DateTimeOffset.UtcNow.AddSeconds(-5));
        await AssertAllowedAsync(await CallAsync(_a, token));
        await AssertAllowedAsync(await CallAsync(_b, token));
        var set = SignalApi.Sign(_issuer, SignalApi.Claims(_issuer, sub, eventType));

        await SignalApi.AcceptedAsync(_a, set);
        var since = Stopwatch.StartNew();
        var lags = await Task.WhenAll(UntilRefusedAsync(_a, token, since), UntilRefusedAsync(_b, token, since));

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{eventType[(eventType.LastIndexOf('/') + 1)..]}: 202 at A -> refused by A {lags[0]?.TotalMilliseconds:F1} ms, by B {lags[1]?.TotalMilliseconds:F1} ms"));
        Assert.All(lags, lag => Assert.InRange(lag ?? TimeSpan.MaxValue, TimeSpan.Zero, TimeSpan.FromSeconds(1)));
        var count = await CountAsync(_b);
        using var replay = await SignalApi.PushAsync(_b, set);
        await SignalApi.RefusedAsync(replay, "invalid_request");
        Assert.Equal(count, await CountAsync(_b));
    }

    private static async Task<TimeSpan?> UntilRefusedAsync(TestGateway gateway, string token, Stopwatch since)
    {
        while (since.Elapsed < TimeSpan.FromSeconds(5))
        {
            using var response = await CallAsync(gateway, token);
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                var lag = since.Elapsed;
                await AssertRevokedAsync(response);
                return lag;
            }

            await Task.Delay(10);
        }

        return null;
    }
}
