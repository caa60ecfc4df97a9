using Gateway.Tokens;
using YamlDotNet.RepresentationModel;

namespace Gateway.Policy;

internal sealed partial class PolicyBinder
{
    private const string DelegationWhere = "in section 'delegation'";

    /// <summary>
    /// The optional <c>delegation</c> section. Beyond the shape, it checks what would otherwise only show when the
    /// first child token is refused: the issuer is configured, the key file is a private JWK, and that issuer
    /// accepts the key's algorithm and (with a <c>jwks_file</c>) publishes its <c>kid</c>.
    /// </summary>
    private DelegationSettings? BindDelegation(IReadOnlyList<IssuerSettings> issuers, GatewaySettings? gateway)
    {
        var section = OpenSection("delegation", ["issuer", "signing_key_file", "max_ttl", "status_list"]);
        if (section is null)
        {
            return null;
        }

        var errorsBefore = _errors.Count;
        var issuerNode = section.Scalar("issuer", required: true);
        var keyNode = section.Scalar("signing_key_file", required: true);
        var configuredTtl = section.Duration("max_ttl");
        var maxTtl = configuredTtl ?? new DelegationSettings { Issuer = "", SigningKeyFile = "" }.MaxTtl;

        IssuerSettings? issuer = null;
        if (issuerNode is not null)
        {
            var name = issuerNode.Value ?? "";
            issuer = issuers.FirstOrDefault(i => string.Equals(i.Issuer, name, StringComparison.Ordinal));
            if (issuer is null && _complete)
            {
                section.File.Error(issuerNode, $"issuer '{name}' {DelegationWhere} is not configured under 'issuers'{KnownNames(name, [.. issuers.Select(i => i.Issuer)], "issuers")}; "
                    + "add it there with the public key of signing_key_file, so that child tokens are validated like any other token");
            }
        }

        string? keyPath = null;
        if (keyNode is not null)
        {
            keyPath = section.File.ResolvePath(keyNode.Value ?? "");
            if (!File.Exists(keyPath))
            {
                section.File.Error(keyNode, $"signing_key_file '{keyNode.Value}' {DelegationWhere} does not exist (looked for {keyPath}); make one with: gateway keys generate --alg ES256 --kid KID --out DIR");
            }
            else
            {
                CheckDelegationKey(section.File, keyNode, keyPath, issuer);
            }
        }

        if (configuredTtl is not null && section.Value("max_ttl") is YamlScalarNode maxTtlNode && gateway is not null && maxTtl > gateway.MaxTokenLifetime)
        {
            section.File.Error(maxTtlNode, $"'max_ttl' {DelegationWhere} ({maxTtlNode.Value}) is longer than gateway.max_token_lifetime ({gateway.MaxTokenLifetime}); the gateway would refuse its own child tokens");
        }

        var statusList = BindPublishedStatusList(section);
        if (_errors.Count > errorsBefore || issuerNode is null || keyPath is null)
        {
            return null;
        }

        return new DelegationSettings { Issuer = issuerNode.Value ?? "", SigningKeyFile = keyPath, MaxTtl = maxTtl, StatusList = statusList };
    }

    /// <summary><c>delegation.status_list</c>: <c>uri</c> (required), <c>ttl</c>, <c>size</c>.</summary>
    private static PublishedStatusListSettings? BindPublishedStatusList(MappingReader section)
    {
        const string Where = "in 'delegation.status_list'";
        var reader = section.Mapping("status_list", Where, ["uri", "ttl", "size"]);
        if (reader is null)
        {
            return null;
        }

        var uriNode = reader.Scalar("uri", required: true);
        var ttl = reader.Duration("ttl");
        var size = reader.Int("size", 1024);
        Uri? uri = null;
        if (uriNode is not null)
        {
            var text = uriNode.Value ?? "";
            if (!Uri.TryCreate(text, UriKind.Absolute, out uri) || !(uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && IsLoopback(uri)))
                || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
            {
                section.File.Error(uriNode, $"'uri' {Where} must be an absolute https URL (http only on loopback) without query, fragment or user info: where relying parties fetch the list the admin listener serves at {PublishedStatusListSettings.Path}");
                uri = null;
            }
        }

        if (size is { } entries && (entries % 8 != 0 || entries > 64 * 1024 * 1024) && reader.Scalar("size") is { } sizeNode)
        {
            section.File.Error(sizeNode, $"'size' {Where} must be a multiple of 8 and at most 67108864, found {entries}: entries are bits, packed eight to a byte");
            size = null;
        }

        if (uri is null)
        {
            return null;
        }

        var defaults = new PublishedStatusListSettings { Uri = uri };
        return defaults with { Ttl = ttl ?? defaults.Ttl, Size = size ?? defaults.Size };
    }

    private static void CheckDelegationKey(PolicyFile file, YamlScalarNode keyNode, string keyPath, IssuerSettings? issuer)
    {
        SigningKey key;
        try
        {
            key = SigningKey.Load(keyPath);
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            // SigningKey's messages never quote key material.
            file.Error(keyNode, $"signing_key_file '{keyNode.Value}' {DelegationWhere} is not a usable private JWK: {e.Message}");
            return;
        }

        using (key)
        {
            if (issuer is null)
            {
                return;
            }

            if (!issuer.Algorithms.Any(a => JwsAlgorithms.AreEquivalent(a, key.Algorithm)))
            {
                file.Error(keyNode, $"signing_key_file '{keyNode.Value}' {DelegationWhere} is a {key.Algorithm} key, but issuer '{issuer.Issuer}' accepts only {string.Join(", ", issuer.Algorithms)}; child tokens would be refused");
                return;
            }

            if (issuer.JwksFile is not { } jwksFile || !TryReadKeySet(jwksFile, out var keySet))
            {
                // A jwks_uri is fetched at run time, and an unreadable jwks_file is the issuer's own problem.
                return;
            }

            if (!keySet.TryGetKey(key.KeyId, out _))
            {
                file.Error(keyNode, $"signing_key_file '{keyNode.Value}' {DelegationWhere} has kid '{key.KeyId}', which the jwks_file of issuer '{issuer.Issuer}' does not list; child tokens would be refused. Add the key's public JWKS to that file");
            }
        }
    }

    private static bool TryReadKeySet(string path, out IssuerKeySet keySet)
    {
        try
        {
            keySet = IssuerKeySet.Parse(File.ReadAllBytes(path), out _);
            return true;
        }
        catch (Exception e) when (e is FormatException or IOException or UnauthorizedAccessException)
        {
            keySet = IssuerKeySet.Empty;
            return false;
        }
    }
}
