using Gateway.Policy;
using Gateway.Revocation;
using Gateway.Tokens;

namespace Gateway.Tests.Revocation;

/// <summary>Tokens and rules for revocation tests, built directly (no signing needed to test matching).</summary>
internal static class RevocationTestData
{
    public static readonly DateTimeOffset Now = new(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);

    /// <summary>max_token_lifetime 1h, clock_skew 30s: the contract's defaults.</summary>
    public static readonly GatewaySettings Settings = new() { Audience = "https://gateway.test" };

    public static CapabilityToken Token(
        string jti = "jti-child",
        string subject = "user:alice",
        IReadOnlyList<string>? actors = null,
        IReadOnlyList<string>? chain = null,
        string? clientId = null,
        DateTimeOffset? issuedAt = null)
    {
        var iat = issuedAt ?? Now.AddMinutes(-5);
        actors ??= ["agent:planner"];
        return new CapabilityToken
        {
            Jti = jti,
            Issuer = "https://idp.test",
            Subject = subject,
            Agent = actors[0],
            Actors = actors,
            ClientId = clientId,
            IssuedAt = iat,
            Expires = iat.AddMinutes(30),
            Grants = [],
            Chain = chain ?? [],
        };
    }

    public static RevocationRule Rule(RevocationKind kind, string value, DateTimeOffset? issuedBefore = null, DateTimeOffset? createdAt = null, string? id = null)
    {
        var created = createdAt ?? Now;
        return new RevocationRule
        {
            Id = id ?? RevocationRule.NewId(),
            Kind = kind,
            Value = value,
            IssuedBefore = issuedBefore,
            Reason = "test",
            CreatedAt = created,
            ExpiresAt = RevocationRule.ComputeExpiry(created, issuedBefore, Settings.MaxTokenLifetime, Settings.ClockSkew),
        };
    }
}
