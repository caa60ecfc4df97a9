using YamlDotNet.RepresentationModel;

namespace Gateway.Policy;

internal sealed partial class PolicyBinder
{
    // A proof jti is remembered for the whole window, in every replica's store; an hour is already far
    // more than a client that makes a fresh proof per request needs.
    private static readonly TimeSpan MaxIatWindow = TimeSpan.FromHours(1);
    private static readonly TimeSpan MaxProofSkew = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan MaxNonceLifetime = TimeSpan.FromDays(1);

    /// <summary><c>gateway.dpop</c>: every key optional, each with its default.</summary>
    private static DpopSettings BindDpop(MappingReader gw)
    {
        var defaults = new DpopSettings();
        var dpop = gw.Mapping("dpop", "in 'gateway.dpop'", ["algorithms", "iat_window", "clock_skew", "require_nonce", "nonce_lifetime", "public_base_url"]);
        if (dpop is null)
        {
            return defaults;
        }

        return new DpopSettings
        {
            Algorithms = BindAlgorithms(dpop) ?? defaults.Algorithms,
            IatWindow = AtMost(dpop, "iat_window", dpop.Duration("iat_window"), MaxIatWindow) ?? defaults.IatWindow,
            ClockSkew = AtMost(dpop, "clock_skew", dpop.Duration("clock_skew", allowZero: true), MaxProofSkew) ?? defaults.ClockSkew,
            RequireNonce = dpop.Bool("require_nonce") ?? defaults.RequireNonce,
            NonceLifetime = AtMost(dpop, "nonce_lifetime", dpop.Duration("nonce_lifetime"), MaxNonceLifetime) ?? defaults.NonceLifetime,
            PublicBaseUrl = BindPublicBaseUrl(dpop),
        };
    }

    private static TimeSpan? AtMost(MappingReader reader, string key, TimeSpan? value, TimeSpan maximum)
    {
        if (value is not { } duration || duration <= maximum)
        {
            return value;
        }

        reader.File.Error(reader.Value(key)!, $"'{key}' {reader.Where} may be at most {PolicyDuration.Format(maximum)}");
        return null;
    }

    /// <summary>Scheme, host, optional port and path prefix; no user info, query or fragment, which no request URI carries.</summary>
    private static Uri? BindPublicBaseUrl(MappingReader dpop)
    {
        if (dpop.Scalar("public_base_url") is not YamlScalarNode scalar)
        {
            return null;
        }

        var text = scalar.Value ?? "";
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            || uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0
            || text.Contains('?', StringComparison.Ordinal) || text.Contains('#', StringComparison.Ordinal))
        {
            dpop.File.Error(scalar, $"'public_base_url' {dpop.Where} must be an absolute http(s) URL such as https://api.example.com, without user info, query or fragment; found '{text}'");
            return null;
        }

        return uri;
    }
}
