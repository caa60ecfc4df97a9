namespace Gateway.Policy;

/// <summary>
/// How the gateway authenticates itself to an upstream (<c>upstreams.NAME.auth</c>): exactly one kind. The policy
/// names where a secret is (a file, an environment variable), never the secret itself. Records compare by value,
/// so a reload that leaves an upstream's <c>auth</c> unchanged keeps its cached tokens.
/// </summary>
public abstract record UpstreamAuthSettings
{
    /// <summary>The policy word for this kind: <c>header</c>, <c>oauth2_client_credentials</c>, <c>token_exchange</c>, <c>client_certificate</c>.</summary>
    public abstract string Kind { get; }

    /// <summary>Where <c>auth</c> was declared, for <c>gateway validate</c>'s messages; not part of equality.</summary>
    public SourceLocation Location { get; init; }

    /// <summary>The secret files this credential reads, with where each is named in the policy.</summary>
    public abstract IEnumerable<(string Key, string Path)> SecretFiles { get; }

    public virtual bool Equals(UpstreamAuthSettings? other) => other is not null && EqualityContract == other.EqualityContract;

    public override int GetHashCode() => EqualityContract.GetHashCode();
}

/// <summary><c>header: { name, value_file | value_env }</c>: a static header such as <c>X-Api-Key</c>.</summary>
public sealed record HeaderAuthSettings : UpstreamAuthSettings
{
    public override string Kind => "header";
    public required string Name { get; init; }

    /// <summary>Absolute path of the file holding the header's value (re-read when it changes); null with <see cref="ValueEnv"/>.</summary>
    public string? ValueFile { get; init; }

    /// <summary>Environment variable holding the value, read once at load; null with <see cref="ValueFile"/>.</summary>
    public string? ValueEnv { get; init; }

    public override IEnumerable<(string Key, string Path)> SecretFiles =>
        ValueFile is null ? [] : [("value_file", ValueFile)];
}

/// <summary><c>oauth2_client_credentials</c>: an access token for the gateway itself, from the upstream's token endpoint (RFC 6749 section 4.4).</summary>
public sealed record ClientCredentialsAuthSettings : UpstreamAuthSettings
{
    public override string Kind => "oauth2_client_credentials";
    public required Uri TokenUrl { get; init; }
    public required string ClientId { get; init; }

    /// <summary>Absolute path of the file holding the client secret.</summary>
    public required string ClientSecretFile { get; init; }

    /// <summary>Space-separated scopes to ask for; null asks for none.</summary>
    public string? Scope { get; init; }

    /// <summary>The <c>audience</c> parameter some servers take (Auth0, Okta); null sends none.</summary>
    public string? Audience { get; init; }

    /// <summary>The RFC 8707 <c>resource</c> parameter; null sends none.</summary>
    public string? Resource { get; init; }

    public override IEnumerable<(string Key, string Path)> SecretFiles => [("client_secret_file", ClientSecretFile)];
}

/// <summary>
/// <c>token_exchange</c> (RFC 8693): per call's user and agent, a gateway-signed assertion (<c>sub</c> = the user,
/// <c>act.sub</c> = the agent) exchanged at the upstream's STS for a token naming that user.
/// </summary>
public sealed record TokenExchangeAuthSettings : UpstreamAuthSettings
{
    public override string Kind => "token_exchange";
    public required Uri TokenUrl { get; init; }
    public required string ClientId { get; init; }
    public required string ClientSecretFile { get; init; }

    /// <summary>The upstream the token is for (RFC 8693 <c>audience</c>).</summary>
    public required string Audience { get; init; }

    public string? Scope { get; init; }

    /// <summary>The assertion's <c>iss</c>; default <c>delegation.issuer</c>.</summary>
    public required string Issuer { get; init; }

    /// <summary>Absolute path of the private JWK that signs the assertion; default <c>delegation.signing_key_file</c>.</summary>
    public required string SigningKeyFile { get; init; }

    public override IEnumerable<(string Key, string Path)> SecretFiles => [("client_secret_file", ClientSecretFile), ("signing_key_file", SigningKeyFile)];
}

/// <summary><c>client_certificate: { cert_file, key_file }</c>: mutual TLS to the upstream, both PEM files.</summary>
public sealed record ClientCertificateAuthSettings : UpstreamAuthSettings
{
    public override string Kind => "client_certificate";
    public required string CertFile { get; init; }
    public required string KeyFile { get; init; }

    public override IEnumerable<(string Key, string Path)> SecretFiles => [("key_file", KeyFile)];
}
