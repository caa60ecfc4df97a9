using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Policy;
using Gateway.Tokens;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.Tokens;
using TokenValidationResult = Gateway.Tokens.TokenValidationResult;

namespace Gateway.Tests.Tokens;

/// <summary>
/// A test identity provider: a signing key, its JWKS and issuer settings, and a minter that starts from a
/// valid capability token and lets a test change any header member or claim, including into something no
/// real issuer would send. Self-contained (it needs only Gateway.Core), so other test projects can link it.
/// </summary>
public sealed class TestIssuer
{
    public const string DefaultIssuer = "https://idp.test";
    public const string Audience = "https://gateway.test";

    // Keys are expensive to make (RSA especially) and immutable once made, so tests share them per (alg, kid).
    private static readonly ConcurrentDictionary<(string Algorithm, string KeyId, int Variant), SigningKey> Keys = new();

    public TestIssuer(string issuer = DefaultIssuer, string algorithm = JwsAlgorithms.Es256, string? keyId = null, int keyVariant = 0)
    {
        Issuer = issuer;
        Key = SharedKey(algorithm, keyId ?? "test-" + algorithm.ToLowerInvariant(), keyVariant);
    }

    public string Issuer { get; }

    public SigningKey Key { get; }

    public string Algorithm => Key.Algorithm;

    public string KeyId => Key.KeyId;

    public string Jwks => Key.ToPublicJwks();

    /// <summary>Another key with the same kid: signs tokens that must fail signature checks.</summary>
    public static SigningKey SharedKey(string algorithm, string keyId, int variant = 0) =>
        Keys.GetOrAdd((algorithm, keyId, variant), static k => KeyGenerator.Create(k.Algorithm, k.KeyId));

    public IssuerSettings Settings(IReadOnlyList<string>? algorithms = null, IReadOnlyList<string>? types = null) => new()
    {
        Issuer = Issuer,
        Algorithms = algorithms ?? [Algorithm],
        Types = types ?? ["at+jwt"],
    };

    public IJwksSource JwksSource() => new StaticJwksSource(IssuerKeySet.Parse(Encoding.UTF8.GetBytes(Jwks), out _));

    public JsonObject Header() => new()
    {
        ["alg"] = Algorithm,
        ["kid"] = KeyId,
        ["typ"] = "at+jwt",
    };

    /// <summary>A valid payload issued at <paramref name="now"/> for ten minutes.</summary>
    public JsonObject Claims(DateTimeOffset now) => new()
    {
        ["iss"] = Issuer,
        ["sub"] = "user:alice",
        ["aud"] = Audience,
        ["iat"] = now.ToUnixTimeSeconds(),
        ["exp"] = now.AddMinutes(10).ToUnixTimeSeconds(),
        ["jti"] = Guid.NewGuid().ToString("N"),
        ["act"] = new JsonObject { ["sub"] = "agent:billing-bot" },
        ["authorization_details"] = new JsonArray
        {
            new JsonObject
            {
                ["type"] = "agent_capability",
                ["actions"] = new JsonArray("crm.customers:read"),
                ["resources"] = new JsonArray("crm:customer/42"),
            },
        },
    };

    /// <summary>
    /// Mints a token: valid unless <paramref name="header"/> or <paramref name="claims"/> break it. The signature
    /// always uses the signing key's own algorithm, whatever the header is edited to claim.
    /// </summary>
    public string Mint(DateTimeOffset now, Action<JsonObject>? header = null, Action<JsonObject>? claims = null, SigningKey? signWith = null)
    {
        var h = Header();
        header?.Invoke(h);
        var c = Claims(now);
        claims?.Invoke(c);
        return Sign(h, c, signWith ?? Key);
    }

    public static string Sign(JsonObject header, JsonObject claims, SigningKey key) =>
        Sign(header, claims, key.SecurityKey, key.Algorithm);

    /// <summary>Signs with any IdentityModel key and algorithm, e.g. HS256 with a public key's bytes.</summary>
    public static string Sign(JsonObject header, JsonObject claims, SecurityKey key, string algorithm) =>
        JwsWriter.Sign(Encoding.UTF8.GetBytes(header.ToJsonString()), Encoding.UTF8.GetBytes(claims.ToJsonString()), key, algorithm);

    public static string Sign(string headerJson, string claimsJson, SigningKey key) =>
        JwsWriter.Sign(Encoding.UTF8.GetBytes(headerJson), Encoding.UTF8.GetBytes(claimsJson), key.SecurityKey, key.Algorithm);

    /// <summary>Header and payload with an empty signature, as <c>alg: none</c> tokens come.</summary>
    public static string WithoutSignature(JsonObject header, JsonObject claims) =>
        JwsWriter.WithoutSignature(Encoding.UTF8.GetBytes(header.ToJsonString()), Encoding.UTF8.GetBytes(claims.ToJsonString()));
}

/// <summary>A validator over test issuers, on a fake clock.</summary>
public sealed class TestGateway
{
    public static readonly DateTimeOffset Start = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    public TestGateway(params TestIssuer[] issuers)
        : this(issuers.Select(i => i.Settings()).ToArray(), issuers)
    {
    }

    public TestGateway(IReadOnlyList<IssuerSettings> settings, IReadOnlyList<TestIssuer> issuers, TokenValidatorOptions? options = null, Func<GatewaySettings, GatewaySettings>? gateway = null)
    {
        Policy = new GatewayPolicy
        {
            Gateway = (gateway ?? (g => g))(new GatewaySettings { Audience = TestIssuer.Audience }),
            Issuers = settings,
        };
        Keys = new IssuerKeyResolver(issuers.ToDictionary(i => i.Issuer, i => i.JwksSource()));
        Validator = new CapabilityTokenValidator(Policy, Keys, Time, NullLogger<CapabilityTokenValidator>.Instance, options);
    }

    public FakeTimeProvider Time { get; } = new(Start);

    public GatewayPolicy Policy { get; }

    public ISigningKeyResolver Keys { get; }

    public CapabilityTokenValidator Validator { get; }

    public DateTimeOffset Now => Time.GetUtcNow();

    public ValueTask<TokenValidationResult> ValidateAsync(string token) => Validator.ValidateAsync(token, CancellationToken.None);

    public async Task<CapabilityToken> AssertValidAsync(string token)
    {
        var result = await ValidateAsync(token);
        Assert.True(result.IsValid, result.Failure?.ToString());
        return result.Token;
    }

    /// <summary>Asserts the refusal reason, and that the description leaks neither the token nor claim values.</summary>
    public async Task<TokenFailure> AssertRefusedAsync(string token, string reason, params string[] secrets)
    {
        var result = await ValidateAsync(token);
        Assert.False(result.IsValid, "the token was accepted");
        Assert.Equal(reason, result.Failure.Reason);
        Assert.False(string.IsNullOrWhiteSpace(result.Failure.Description));
        if (token.Length > 0)
        {
            Assert.DoesNotContain(token, result.Failure.Description, StringComparison.Ordinal);
        }

        foreach (var secret in secrets.Append("user:alice").Append("agent:billing-bot"))
        {
            Assert.DoesNotContain(secret, result.Failure.Description, StringComparison.Ordinal);
        }

        return result.Failure;
    }
}
