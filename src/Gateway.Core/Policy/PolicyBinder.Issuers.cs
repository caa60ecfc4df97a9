using System.Net;
using YamlDotNet.RepresentationModel;

namespace Gateway.Policy;

internal sealed partial class PolicyBinder
{
    private List<IssuerSettings> BindIssuers()
    {
        var issuers = new List<IssuerSettings>();
        var seen = new Dictionary<string, SourceLocation>(StringComparer.Ordinal);
        foreach (var (file, item, index) in MergedItems("issuers", "a list of issuers such as - issuer: https://idp.example"))
        {
            var label = MappingReader.Peek(item, "issuer") is { } peeked ? $"in issuer '{peeked}'" : $"in issuers[{index}]";
            var reader = MappingReader.Open(file, item, label, ["issuer", "jwks_file", "jwks_uri", "algorithms", "types", "status_lists"]);
            var name = reader?.Scalar("issuer", required: true);
            if (reader is null || name is null)
            {
                continue;
            }

            var issuer = name.Value ?? "";
            if (seen.TryGetValue(issuer, out var first))
            {
                file.Error(name, $"issuer '{issuer}' is already configured at {first}; list each issuer once");
            }
            else
            {
                seen.Add(issuer, file.At(name));
            }

            var (jwksFile, jwksUri) = BindKeySource(reader);
            var defaults = new IssuerSettings { Issuer = issuer };
            issuers.Add(new IssuerSettings
            {
                Issuer = issuer,
                JwksFile = jwksFile,
                JwksUri = jwksUri,
                Algorithms = BindAlgorithms(reader) ?? defaults.Algorithms,
                Types = reader.ScalarList("types", required: reader.Has("types"))?.Select(t => t.Value ?? "").ToList() ?? defaults.Types,
                StatusLists = BindStatusListPrefixes(reader),
            });
        }

        if (issuers.Count == 0 && _complete)
        {
            var section = _merged.GetValueOrDefault("issuers")?.FirstOrDefault();
            var location = section is null ? _firstFile.Start : section.File.At(section.Key);
            _errors.Add(location, "at least one issuer is required under 'issuers' (issuer, jwks_file or jwks_uri, algorithms)");
        }

        return issuers;
    }

    /// <summary>Exactly one of <c>jwks_file</c> (relative to the policy file, must exist) and <c>jwks_uri</c>.</summary>
    private static (string? File, Uri? Uri) BindKeySource(MappingReader reader)
    {
        var file = reader.Scalar("jwks_file");
        var uri = reader.Scalar("jwks_uri");
        if (file is null && uri is null)
        {
            reader.File.Error(reader.Node, $"missing key source {reader.Where}: set exactly one of 'jwks_file' (a path relative to the policy file) or 'jwks_uri' (an https URL)");
            return (null, null);
        }

        if (file is not null && uri is not null)
        {
            reader.File.Error(uri, $"both 'jwks_file' and 'jwks_uri' are set {reader.Where}; set exactly one, so there is no doubt which keys are trusted");
            return (null, null);
        }

        if (file is not null)
        {
            var path = reader.File.ResolvePath(file.Value ?? "");
            if (!File.Exists(path))
            {
                reader.File.Error(file, $"jwks_file '{file.Value}' {reader.Where} does not exist (looked for {path})");
            }

            return (path, null);
        }

        var text = uri!.Value ?? "";
        if (!Uri.TryCreate(text, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttps && parsed.Scheme != Uri.UriSchemeHttp))
        {
            reader.File.Error(uri, $"jwks_uri '{text}' {reader.Where} must be an absolute https URL");
            return (null, null);
        }

        // Keys fetched over plain http could be swapped by anyone on the path; only a loopback
        // address (a sidecar or a test identity provider) is exempt.
        if (parsed.Scheme == Uri.UriSchemeHttp && !IsLoopback(parsed))
        {
            reader.File.Error(uri, $"jwks_uri '{text}' {reader.Where} must use https (plain http is accepted only for localhost, 127.0.0.1 or [::1])");
            return (null, null);
        }

        return (null, parsed);
    }

    /// <summary>
    /// <c>status_lists</c>: the URL prefixes a token's status list may be fetched from. Each is an absolute https URL
    /// (http only on loopback, as for <c>jwks_uri</c>) with a path, no query, fragment or user info, so a prefix
    /// cannot be widened by what follows it.
    /// </summary>
    private static List<Uri> BindStatusListPrefixes(MappingReader reader)
    {
        var prefixes = new List<Uri>();
        foreach (var item in reader.ScalarList("status_lists", required: reader.Has("status_lists")) ?? [])
        {
            var text = item.Value ?? "";
            if (!Uri.TryCreate(text, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttps && parsed.Scheme != Uri.UriSchemeHttp))
            {
                reader.File.Error(item, $"status list prefix '{text}' {reader.Where} must be an absolute https URL such as https://idp.example/status/");
                continue;
            }

            if (parsed.Scheme == Uri.UriSchemeHttp && !IsLoopback(parsed))
            {
                reader.File.Error(item, $"status list prefix '{text}' {reader.Where} must use https (plain http is accepted only for localhost, 127.0.0.1 or [::1]): a list fetched in clear could be swapped on the way");
                continue;
            }

            if (parsed.Query.Length > 0 || parsed.Fragment.Length > 0 || parsed.UserInfo.Length > 0 || !text.EndsWith('/'))
            {
                reader.File.Error(item, $"status list prefix '{text}' {reader.Where} must end with '/' and have no query, fragment or user info, so that it names a folder of lists (https://idp.example/status/)");
                continue;
            }

            prefixes.Add(parsed);
        }

        return prefixes;
    }

    internal static bool IsLoopback(Uri uri) =>
        string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase)
        || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    private static List<string>? BindAlgorithms(MappingReader reader)
    {
        var items = reader.ScalarList("algorithms", required: reader.Has("algorithms"));
        if (items is null)
        {
            return null;
        }

        var algorithms = new List<string>();
        foreach (var item in items)
        {
            var algorithm = item.Value ?? "";
            if (PolicyNames.SupportedAlgorithms.Contains(algorithm, StringComparer.Ordinal))
            {
                algorithms.Add(algorithm);
                continue;
            }

            var message = algorithm switch
            {
                _ when algorithm.Equals("none", StringComparison.OrdinalIgnoreCase) =>
                    $"algorithm '{algorithm}' {reader.Where} is never accepted: an unsigned token proves nothing, anyone could write one",
                _ when algorithm.StartsWith("HS", StringComparison.OrdinalIgnoreCase) =>
                    $"algorithm '{algorithm}' {reader.Where} is never accepted: HMAC keys are shared secrets, so whoever can check a token could also mint one; use ES256, EdDSA (or Ed25519), RS256 or PS256",
                _ =>
                    $"unsupported algorithm '{algorithm}' {reader.Where} (expected ES256, EdDSA, Ed25519, RS256 or PS256){DidYouMean.Hint(algorithm, PolicyNames.SupportedAlgorithms)}",
            };
            reader.File.Error(item, message);
        }

        return algorithms;
    }

    /// <summary>The items of a list-shaped merged section, with their index within their own file's list.</summary>
    private IEnumerable<(PolicyFile File, YamlNode Item, int Index)> MergedItems(string section, string expected)
    {
        if (!_merged.TryGetValue(section, out var sections))
        {
            yield break;
        }

        foreach (var occurrence in sections)
        {
            if (occurrence.Value is YamlSequenceNode sequence)
            {
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    yield return (occurrence.File, sequence.Children[i], i);
                }
            }
            else if (!YamlValues.IsNull(occurrence.Value))
            {
                occurrence.File.Error(occurrence.Value, $"section '{section}' must be {expected}, found {YamlValues.Describe(occurrence.Value)}");
            }
        }
    }
}
