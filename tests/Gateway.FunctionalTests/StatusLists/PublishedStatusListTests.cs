using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Gateway.FunctionalTests.Delegation;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.Policy;
using Gateway.StatusLists;
using Gateway.Tokens;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;
using static Gateway.FunctionalTests.Revocation.RevocationApi;

namespace Gateway.FunctionalTests.StatusLists;

/// <summary>
/// A gateway that mints child tokens and publishes their Token Status List (<c>delegation.status_list</c>), on the
/// in-memory store or on a real redis-server. The list's <c>uri</c> is where relying parties would fetch it (in front of
/// the admin listener); the tests fetch it from the admin listener's path directly.
/// </summary>
public abstract class PublishedStatusListFixture : IAsyncLifetime
{
    public const string ListUri = "https://gateway-admin.test/status-lists/delegation";

    private readonly string _keys = Directory.CreateTempSubdirectory("gateway-status-keys-").FullName;

    public TestIssuer Issuer { get; } = new();
    public UpstreamServer Upstream { get; private set; } = null!;
    public TestGateway Gateway { get; private set; } = null!;
    public string DelegationJwks => Path.Combine(_keys, "delegation.jwks.json");

    protected IReadOnlyDictionary<string, string?> Settings { get; set; } = new Dictionary<string, string?>();

    public virtual async Task InitializeAsync()
    {
        KeyGenerator.Generate("EdDSA", "delegation-test").WriteTo(_keys, "delegation");
        Upstream = await UpstreamServer.StartAsync();
        Gateway = await StartReplicaAsync();
    }

    public Task<TestGateway> StartReplicaAsync() => TestGateway.StartAsync(Issuer, Upstream, DelegationGatewayFixture.PolicyTemplate
        .Replace("{{KEYS}}", _keys, StringComparison.Ordinal)
        .Replace("  max_ttl: 10m\n", $"  max_ttl: 10m\n  status_list: {{ uri: \"{ListUri}\", ttl: 5s, size: 4096 }}\n", StringComparison.Ordinal), Settings);

    public virtual async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
        Issuer.Dispose();
        Directory.Delete(_keys, recursive: true);
    }
}

public sealed class InMemoryPublishedStatusListFixture : PublishedStatusListFixture
{
    public InMemoryPublishedStatusListFixture() => Settings = new Dictionary<string, string?> { ["Gateway:Store:Kind"] = "memory" };
}

public sealed class RedisPublishedStatusListFixture : PublishedStatusListFixture
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

public abstract class PublishedStatusListTests<TFixture>(TFixture fixture, ITestOutputHelper output)
    where TFixture : PublishedStatusListFixture
{
    protected TFixture Fixture => fixture;

    [Fact]
    public async Task MintRevokeFetch_RevokedChildsBitSet_ThenTheParentsRevocationSetsItsSibling()
    {
        var parent = Parent();
        var first = await MintChildAsync(fixture.Gateway, parent);
        var second = await MintChildAsync(fixture.Gateway, parent);
        var (firstIndex, secondIndex) = (Index(first), Index(second));
        Assert.NotEqual(firstIndex, secondIndex);

        // The gateway accepts its own children: their status is its own revocation index, read at check 3.
        await AssertAllowedAsync(await CallAsync(fixture.Gateway, first));
        var list = await FetchAsync(fixture.Gateway);
        Assert.False(Bit(list, firstIndex));

        using (var revoke = await PostFormAsync(fixture.Gateway, "/oauth/revoke", ("token", first)))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        var lag = await UntilSetAsync(fixture.Gateway, firstIndex);
        output.WriteLine($"/oauth/revoke of a child: its bit set in the published list after {lag.TotalMilliseconds:F0} ms (list rebuilt at most once a second)");
        list = await FetchAsync(fixture.Gateway);
        Assert.False(Bit(list, secondIndex));
        await AssertRevokedAsync(await CallAsync(fixture.Gateway, first));

        await RevokeAsync(fixture.Gateway, "jti", Jti(parent));
        await UntilSetAsync(fixture.Gateway, secondIndex);
    }

    [Fact]
    public async Task PublishedList_NoAdminKeyNeeded_TypedStatusListJwt_WithItsTtl()
    {
        using var response = await fixture.Gateway.Admin.GetAsync(PublishedStatusListSettings.Path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(StatusListTokenVerifier.MediaType, response.Content.Headers.ContentType?.MediaType);
        var payload = Payload(await response.Content.ReadAsStringAsync());
        Assert.Equal(5, payload.GetProperty("ttl").GetInt32());
        Assert.Equal(PublishedStatusListFixture.ListUri, payload.GetProperty("sub").GetString());
        Assert.Equal(DelegationGatewayFixture.DelegationIssuer, payload.GetProperty("iss").GetString());
    }

    protected string Parent() => Mint(fixture.Issuer, Unique("user:published-"), ["agent:planner"]);

    protected static async Task<string> MintChildAsync(TestGateway gateway, string parent)
    {
        var body = DelegationGatewayFixture.Body(parent, Unique("agent:child-"), [(["crm.customers:read"], ["crm:customer/**"])], maxSteps: 100);
        using var response = await gateway.AdminSendAsync(HttpMethod.Post, "/delegations", Json(body.ToJsonString()));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST /delegations: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("access_token").GetString()!;
    }

    protected static long Index(string child)
    {
        var status = Payload(child).GetProperty("status").GetProperty("status_list");
        Assert.Equal(PublishedStatusListFixture.ListUri, status.GetProperty("uri").GetString());
        return status.GetProperty("idx").GetInt64();
    }

    /// <summary>Fetches the list from <paramref name="gateway"/>'s admin listener and verifies it as a relying party would, with the delegation issuer's public keys.</summary>
    protected async Task<StatusList> FetchAsync(TestGateway gateway)
    {
        using var response = await gateway.Admin.GetAsync(PublishedStatusListSettings.Path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {PublishedStatusListSettings.Path}: {(int)response.StatusCode} {text}");
        var issuer = new IssuerSettings { Issuer = DelegationGatewayFixture.DelegationIssuer, JwksFile = fixture.DelegationJwks, Algorithms = ["EdDSA"] };
        var keys = IssuerKeyResolver.Create([issuer], null, TimeProvider.System, NullLoggerFactory.Instance);
        var reference = new StatusListReference(PublishedStatusListFixture.ListUri, new Uri(PublishedStatusListFixture.ListUri), 0);
        var (token, problem) = await StatusListTokenVerifier.VerifyAsync(text, reference, issuer, keys, DateTimeOffset.UtcNow, TimeSpan.FromSeconds(30), 1 << 20, CancellationToken.None);
        Assert.True(token is not null, "The published list does not verify: " + problem);
        Assert.Equal(4096, token.List.Count);
        return token.List;
    }

    protected static bool Bit(StatusList list, long index) => list.TryGetStatus(index, out var status) ? status != 0 : throw new InvalidOperationException($"No entry {index}.");

    /// <summary>Fetches until entry <paramref name="index"/> is set (at most 5 s) and returns how long that took.</summary>
    protected async Task<TimeSpan> UntilSetAsync(TestGateway gateway, long index)
    {
        var watch = Stopwatch.StartNew();
        while (!Bit(await FetchAsync(gateway), index))
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"entry {index} not set after 5 s");
            await Task.Delay(50);
        }

        return watch.Elapsed;
    }
}

public sealed class InMemoryPublishedStatusListTests(InMemoryPublishedStatusListFixture fixture, ITestOutputHelper output)
    : PublishedStatusListTests<InMemoryPublishedStatusListFixture>(fixture, output), IClassFixture<InMemoryPublishedStatusListFixture>;

public sealed class RedisPublishedStatusListTests(RedisPublishedStatusListFixture fixture, ITestOutputHelper output)
    : PublishedStatusListTests<RedisPublishedStatusListFixture>(fixture, output), IClassFixture<RedisPublishedStatusListFixture>
{
    [Fact]
    public async Task TwoReplicas_MintAtOnce_DistinctIndices_AndARevocationOnOneIsInTheOthersList()
    {
        await using var replica = await Fixture.StartReplicaAsync();
        var parent = Parent();

        var children = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => MintChildAsync(i % 2 == 0 ? Fixture.Gateway : replica, parent)));
        var indices = children.Select(Index).ToList();
        Assert.Equal(children.Length, indices.Distinct().Count());

        using (var revoke = await PostFormAsync(Fixture.Gateway, "/oauth/revoke", ("token", children[1])))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }

        await UntilSetAsync(replica, indices[1]);
        var list = await FetchAsync(replica);
        Assert.Single(indices, i => Bit(list, i));
    }
}
