using Gateway.Policy;
using Gateway.Tokens;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Tokens;

/// <summary>jwks_uri against a real HTTP server (Kestrel on a loopback port), with the clock faked.</summary>
public sealed class HttpJwksSourceTests : IAsyncLifetime
{
    private readonly TestIssuer _first = new(keyId: "key-1");
    private readonly TestIssuer _second = new(keyId: "key-2");
    private WebApplication? _server;
    private volatile string _jwks = "";
    private volatile int _status = StatusCodes.Status200OK;
    private int _requests;

    private int Requests => Volatile.Read(ref _requests);

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _server = builder.Build();
        _server.MapGet("/jwks", () =>
        {
            Interlocked.Increment(ref _requests);
            return _status == StatusCodes.Status200OK
                ? Results.Text(_jwks, "application/jwk-set+json")
                : Results.StatusCode(_status);
        });
        await _server.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task ValidateAsync_NewKidAfterRotation_RefreshedAtMostOncePerInterval()
    {
        _jwks = _first.Jwks;
        using var http = new HttpClient();
        var (gateway, time) = CreateValidator(http);

        Assert.True((await Validate(gateway, _first.Mint(time.GetUtcNow()))).IsValid);
        Assert.Equal(1, Requests);

        // The issuer rotates, but the last fetch was just now: the unknown kid must not trigger another.
        _jwks = Combine(_first, _second);
        Assert.Equal(TokenFailureReasons.UnknownKey, (await Validate(gateway, _second.Mint(time.GetUtcNow()))).Failure?.Reason);
        Assert.Equal(1, Requests);

        time.Advance(TimeSpan.FromSeconds(31));
        Assert.True((await Validate(gateway, _second.Mint(time.GetUtcNow()))).IsValid);
        Assert.Equal(2, Requests);

        // A flood of made-up kids costs at most one fetch per interval.
        time.Advance(TimeSpan.FromSeconds(31));
        for (var i = 0; i < 50; i++)
        {
            var result = await Validate(gateway, _first.Mint(time.GetUtcNow(), header: h => h["kid"] = "flood-" + i));
            Assert.Equal(TokenFailureReasons.UnknownKey, result.Failure?.Reason);
        }

        Assert.Equal(3, Requests);
        Assert.True((await Validate(gateway, _first.Mint(time.GetUtcNow()))).IsValid);
    }

    [Fact]
    public async Task FindKeyAsync_EndpointFailsAfterFirstFetch_LastGoodKeysKept()
    {
        _jwks = _first.Jwks;
        using var http = new HttpClient();
        var time = new FakeTimeProvider(TestGateway.Start);
        var source = CreateSource(http, time);
        Assert.Equal(KeyLookupStatus.Found, (await source.FindKeyAsync("key-1", default)).Status);

        _status = StatusCodes.Status500InternalServerError;
        time.Advance(TimeSpan.FromHours(2));

        // Stale: the lookup answers from the old keys at once and refreshes behind it.
        Assert.Equal(KeyLookupStatus.Found, (await source.FindKeyAsync("key-1", default)).Status);
        await WaitForAsync(() => Requests == 2);
        Assert.Equal(KeyLookupStatus.Found, (await source.FindKeyAsync("key-1", default)).Status);
        Assert.NotNull(source.Keys);
    }

    [Theory]
    [InlineData("{\"keys\":[]}")]
    [InlineData("not json")]
    [InlineData("{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\",\"kid\":\"key-1\"}]}")]
    public async Task FindKeyAsync_UnusableDocumentAfterGoodOne_LastGoodKeysKept(string document)
    {
        _jwks = _first.Jwks;
        using var http = new HttpClient();
        var time = new FakeTimeProvider(TestGateway.Start);
        var source = CreateSource(http, time);
        Assert.Equal(KeyLookupStatus.Found, (await source.FindKeyAsync("key-1", default)).Status);

        _jwks = document;
        time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(KeyLookupStatus.UnknownKey, (await source.FindKeyAsync("key-2", default)).Status);
        Assert.Equal(2, Requests);
        Assert.Equal(KeyLookupStatus.Found, (await source.FindKeyAsync("key-1", default)).Status);
    }

    [Fact]
    public async Task ValidateAsync_EndpointNeverAnswered_KeysUnavailable()
    {
        _status = StatusCodes.Status503ServiceUnavailable;
        using var http = new HttpClient();
        var (gateway, time) = CreateValidator(http);

        var result = await Validate(gateway, _first.Mint(time.GetUtcNow()));

        Assert.Equal(TokenFailureReasons.KeysUnavailable, result.Failure?.Reason);
        Assert.Equal(1, Requests);
    }

    [Fact]
    public async Task FindKeyAsync_ResponseLargerThanTheLimit_Ignored()
    {
        _jwks = _first.Jwks.Replace("\"keys\"", "\"padding\":\"" + new string('x', 4096) + "\",\"keys\"", StringComparison.Ordinal);
        using var http = new HttpClient();
        var source = CreateSource(http, new FakeTimeProvider(TestGateway.Start), new JwksRefreshOptions { MaxResponseBytes = 1024 });

        Assert.Equal(KeyLookupStatus.KeysUnavailable, (await source.FindKeyAsync("key-1", default)).Status);
    }

    [Fact]
    public async Task FindKeyAsync_ConcurrentUnknownKids_OneFetch()
    {
        _jwks = _first.Jwks;
        using var http = new HttpClient();
        var source = CreateSource(http, new FakeTimeProvider(TestGateway.Start));

        var lookups = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => source.FindKeyAsync("key-1", default).AsTask()));

        Assert.All(lookups, l => Assert.Equal(KeyLookupStatus.Found, l.Status));
        Assert.Equal(1, Requests);
    }

    private Uri JwksUri => new(_server!.Urls.First() + "/jwks");

    private HttpJwksSource CreateSource(HttpClient http, TimeProvider time, JwksRefreshOptions? options = null) =>
        new(TestIssuer.DefaultIssuer, JwksUri, http, time, NullLogger<HttpJwksSource>.Instance, options);

    private (CapabilityTokenValidator Validator, FakeTimeProvider Time) CreateValidator(HttpClient http)
    {
        var time = new FakeTimeProvider(TestGateway.Start);
        var issuer = new IssuerSettings { Issuer = TestIssuer.DefaultIssuer, JwksUri = JwksUri };
        var policy = new GatewayPolicy { Gateway = new GatewaySettings { Audience = TestIssuer.Audience }, Issuers = [issuer] };
        var keys = IssuerKeyResolver.Create(policy.Issuers, http, time, NullLoggerFactory.Instance);
        return (new CapabilityTokenValidator(policy, keys, time, NullLogger<CapabilityTokenValidator>.Instance), time);
    }

    private static async Task<TokenValidationResult> Validate(CapabilityTokenValidator validator, string token) =>
        await validator.ValidateAsync(token, CancellationToken.None);

    private static string Combine(params TestIssuer[] issuers) =>
        "{\"keys\":[" + string.Join(",", issuers.Select(i => System.Text.Json.Nodes.JsonNode.Parse(i.Jwks)!["keys"]![0]!.ToJsonString())) + "]}";

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}
