using System.Diagnostics.CodeAnalysis;

namespace Gateway.Tokens;

/// <summary>
/// The outcome of <see cref="ITokenValidator.ValidateAsync(string, CancellationToken)"/>: exactly one of <see cref="Token"/> and
/// <see cref="Failure"/> is set. A class rather than a struct so that there is no <c>default</c> value
/// that is neither; a cache hit returns the instance stored with the token, so it does not allocate.
/// </summary>
public sealed class TokenValidationResult
{
    private TokenValidationResult(CapabilityToken? token, TokenFailure? failure)
    {
        Token = token;
        Failure = failure;
    }

    public CapabilityToken? Token { get; }

    public TokenFailure? Failure { get; }

    [MemberNotNullWhen(true, nameof(Token))]
    [MemberNotNullWhen(false, nameof(Failure))]
    public bool IsValid => Token is not null;

    public static TokenValidationResult Success(CapabilityToken token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return new(token, null);
    }

    public static TokenValidationResult Failed(TokenFailure failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        return new(null, failure);
    }

    public override string ToString() => IsValid ? $"valid (jti {Token.Jti})" : Failure.ToString();
}
