using System.Diagnostics.CodeAnalysis;

namespace Gateway.Delegation;

/// <summary>A minted child token, or why there is none.</summary>
public sealed record DelegationResult
{
    private DelegationResult()
    {
    }

    /// <summary>The child token (compact JWS). Return it to the caller; never log it.</summary>
    public string? Token { get; private init; }

    public string? Jti { get; private init; }

    public DateTimeOffset? Expires { get; private init; }

    /// <summary>The child's <c>cap.max_steps</c>.</summary>
    public int? MaxSteps { get; private init; }

    /// <summary>One of <see cref="DelegationErrors"/> when refused.</summary>
    public string? Error { get; private init; }

    /// <summary>A sentence the caller can act on when refused. It may quote requested patterns, never a token.</summary>
    public string? Detail { get; private init; }

    [MemberNotNullWhen(true, nameof(Token), nameof(Jti), nameof(Expires), nameof(MaxSteps))]
    [MemberNotNullWhen(false, nameof(Error), nameof(Detail))]
    public bool Succeeded => Token is not null;

    public static DelegationResult Minted(string token, string jti, DateTimeOffset expires, int maxSteps) =>
        new() { Token = token, Jti = jti, Expires = expires, MaxSteps = maxSteps };

    public static DelegationResult Refused(string error, string detail) => new() { Error = error, Detail = detail };

    /// <summary>Never prints the token.</summary>
    public override string ToString() => Succeeded ? $"DelegationResult {{ Jti = {Jti}, Expires = {Expires:O} }}" : $"DelegationResult {{ Error = {Error} }}";
}
