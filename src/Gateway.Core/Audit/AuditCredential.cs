namespace Gateway.Audit;

/// <summary>The <c>upstream_credential</c> member: which credential the gateway presented (or could not have) for the call; never its value.</summary>
public sealed record AuditCredential
{
    /// <summary><c>kind</c>: <c>header</c>, <c>oauth2_client_credentials</c>, <c>token_exchange</c> or <c>client_certificate</c>.</summary>
    public required string Kind { get; init; }

    /// <summary><c>id</c>: the client id, the secret's file or environment variable name, or the certificate's thumbprint.</summary>
    public required string Id { get; init; }
}
