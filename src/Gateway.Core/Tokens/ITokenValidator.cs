namespace Gateway.Tokens;

/// <summary>Turns a bearer token string into a validated <see cref="CapabilityToken"/> or a reason it was refused.</summary>
public interface ITokenValidator
{
    /// <summary>
    /// Validates <paramref name="token"/> (the compact JWS, without the <c>Bearer </c> prefix).
    /// Never throws for a bad token: every refusal is a <see cref="TokenFailure"/>.
    /// </summary>
    ValueTask<TokenValidationResult> ValidateAsync(string token, CancellationToken cancellationToken);

    /// <summary>
    /// Validates a token given as characters of a larger string (the <c>Authorization</c> header), so
    /// that a cached token costs no copy: the default copies it and calls the string overload.
    /// </summary>
    ValueTask<TokenValidationResult> ValidateAsync(ReadOnlyMemory<char> token, CancellationToken cancellationToken) =>
        ValidateAsync(token.ToString(), cancellationToken);
}
