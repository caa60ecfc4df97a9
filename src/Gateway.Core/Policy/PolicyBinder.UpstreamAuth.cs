using YamlDotNet.RepresentationModel;

namespace Gateway.Policy;

internal sealed partial class PolicyBinder
{
    private static readonly string[] AuthKinds = ["header", "oauth2_client_credentials", "token_exchange", "client_certificate"];

    // Headers the gateway or HTTP itself owns: a credential written there would be dropped, or would change the
    // request's framing or the identity the gateway vouches for.
    private static readonly HashSet<string> ReservedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "TE", "Trailer",
        "Content-Length", "Content-Type", "Content-Encoding", "Expect", "Cookie", "DPoP", "Traceparent", "Tracestate",
    };

    private readonly List<(string Upstream, PolicyFile File, YamlNode Node)> _pendingAuth = [];

    private void BindUpstreamAuth(DelegationSettings? delegation)
    {
        foreach (var (name, file, node) in _pendingAuth)
        {
            var where = $"in 'upstreams.{name}.auth'";
            var reader = MappingReader.Open(file, node, where, AuthKinds);
            if (reader is null)
            {
                continue;
            }

            var present = AuthKinds.Where(reader.Has).ToList();
            if (present.Count != 1)
            {
                file.Error(node, present.Count == 0
                    ? $"'auth' of upstream '{name}' must set exactly one of {string.Join(", ", AuthKinds)}"
                    : $"'auth' of upstream '{name}' sets {string.Join(" and ", present)}; an upstream takes exactly one credential");
                continue;
            }

            var location = file.At(node);
            var kindWhere = $"in 'upstreams.{name}.auth.{present[0]}'";
            UpstreamAuthSettings? auth = present[0] switch
            {
                "header" => BindHeaderAuth(reader.Mapping("header", kindWhere, ["name", "value_file", "value_env"]), node),
                "oauth2_client_credentials" => BindClientCredentials(reader.Mapping("oauth2_client_credentials", kindWhere, ["token_url", "client_id", "client_secret_file", "scope", "audience", "resource"])),
                "token_exchange" => BindTokenExchange(reader.Mapping("token_exchange", kindWhere, ["token_url", "client_id", "client_secret_file", "audience", "scope", "issuer", "signing_key_file"]), delegation),
                _ => BindClientCertificate(reader.Mapping("client_certificate", kindWhere, ["cert_file", "key_file"]), name, file, node),
            };

            if (auth is not null)
            {
                var (upstream, at) = _upstreams[name];
                _upstreams[name] = (upstream with { Auth = auth with { Location = location } }, at);
            }
        }
    }

    private static HeaderAuthSettings? BindHeaderAuth(MappingReader? header, YamlNode at)
    {
        if (header is null)
        {
            return null;
        }

        var nameNode = header.Scalar("name", required: true);
        var file = header.String("value_file");
        var env = header.Scalar("value_env");
        if (nameNode is not null && !HttpToken.IsValid(nameNode.Value))
        {
            header.File.Error(nameNode, $"'name' {header.Where} must be an HTTP header name such as X-Api-Key or Authorization, found '{nameNode.Value}'");
            nameNode = null;
        }
        else if (nameNode is not null && (ReservedHeaders.Contains(nameNode.Value!) || nameNode.Value!.StartsWith("Gateway-", StringComparison.OrdinalIgnoreCase)))
        {
            header.File.Error(nameNode, $"'name' {header.Where} cannot be '{nameNode.Value}': the gateway or HTTP itself sets that header");
            nameNode = null;
        }

        if ((file is null) == (env is null))
        {
            header.File.Error(header.Node.Start.Line > 0 ? header.Node : at, $"{header.Where} needs exactly one of value_file (a mounted secret) or value_env (an environment variable); the value itself never goes in the policy");
            return null;
        }

        if (env is not null && !IsEnvironmentName(env.Value ?? ""))
        {
            header.File.Error(env, $"'value_env' {header.Where} must name an environment variable (letters, digits, _), found '{env.Value}'");
            return null;
        }

        return nameNode is null ? null : new HeaderAuthSettings
        {
            Name = nameNode.Value!,
            ValueFile = file is null ? null : header.File.ResolvePath(file),
            ValueEnv = env?.Value,
        };
    }

    private static ClientCredentialsAuthSettings? BindClientCredentials(MappingReader? section)
    {
        if (section is null)
        {
            return null;
        }

        var tokenUrl = TokenUrl(section);
        var clientId = section.String("client_id", required: true);
        var secret = section.String("client_secret_file", required: true);
        var resource = section.Scalar("resource");
        if (resource is not null && !Uri.TryCreate(resource.Value, UriKind.Absolute, out _))
        {
            section.File.Error(resource, $"'resource' {section.Where} must be an absolute URI (RFC 8707), found '{resource.Value}'");
            return null;
        }

        return tokenUrl is null || clientId is null || secret is null ? null : new ClientCredentialsAuthSettings
        {
            TokenUrl = tokenUrl,
            ClientId = clientId,
            ClientSecretFile = section.File.ResolvePath(secret),
            Scope = section.String("scope"),
            Audience = section.String("audience"),
            Resource = resource?.Value,
        };
    }

    private TokenExchangeAuthSettings? BindTokenExchange(MappingReader? section, DelegationSettings? delegation)
    {
        if (section is null)
        {
            return null;
        }

        var tokenUrl = TokenUrl(section);
        var clientId = section.String("client_id", required: true);
        var secret = section.String("client_secret_file", required: true);
        var audience = section.String("audience", required: true);
        var issuer = section.String("issuer") ?? delegation?.Issuer;
        var key = section.String("signing_key_file") is { } keyFile ? section.File.ResolvePath(keyFile) : delegation?.SigningKeyFile;
        if ((issuer is null || key is null) && _complete)
        {
            section.File.Error(section.Node, $"token exchange {section.Where} needs the gateway's own issuer to sign the user's assertion: set 'issuer' and 'signing_key_file' here, or configure the 'delegation' section whose issuer and key are used by default");
            return null;
        }

        return tokenUrl is null || clientId is null || secret is null || audience is null || issuer is null || key is null ? null : new TokenExchangeAuthSettings
        {
            TokenUrl = tokenUrl,
            ClientId = clientId,
            ClientSecretFile = section.File.ResolvePath(secret),
            Audience = audience,
            Scope = section.String("scope"),
            Issuer = issuer,
            SigningKeyFile = key,
        };
    }

    private ClientCertificateAuthSettings? BindClientCertificate(MappingReader? section, string upstream, PolicyFile file, YamlNode at)
    {
        if (section is null)
        {
            return null;
        }

        var cert = section.String("cert_file", required: true);
        var key = section.String("key_file", required: true);
        if (_upstreams[upstream].Upstream.Destinations.FirstOrDefault(d => d.Scheme != Uri.UriSchemeHttps) is { } plain)
        {
            file.Error(at, $"upstream '{upstream}' uses client_certificate, which needs https destinations, but lists {plain}");
            return null;
        }

        return cert is null || key is null ? null : new ClientCertificateAuthSettings
        {
            CertFile = section.File.ResolvePath(cert),
            KeyFile = section.File.ResolvePath(key),
        };
    }

    /// <summary>
    /// An absolute https URL. Plain http is accepted for loopback only: a client secret sent in clear over a
    /// network is a secret given away.
    /// </summary>
    private static Uri? TokenUrl(MappingReader section)
    {
        var node = section.Scalar("token_url", required: true);
        if (node is null)
        {
            return null;
        }

        if (!Uri.TryCreate(node.Value, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            section.File.Error(node, $"'token_url' {section.Where} must be an absolute https URL, found '{node.Value}'");
            return null;
        }

        if (url.Scheme == Uri.UriSchemeHttp && !IsLoopback(url))
        {
            section.File.Error(node, $"'token_url' {section.Where} must use https: the client secret would cross the network in clear (http is accepted for loopback addresses only)");
            return null;
        }

        return url;
    }

    private static bool IsEnvironmentName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
