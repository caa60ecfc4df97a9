using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Gateway.Enforcement;
using Gateway.Policy;
using Gateway.Revocation;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gateway.PolicyTesting;

/// <summary>
/// Reads a cases file (docs/policy-testing.md has the format). Like the policy loader it reports every
/// problem with its file:line:column instead of stopping at the first, so a CI run shows them all.
/// </summary>
public static class PolicyCaseLoader
{
    private static readonly string[] RootKeys = ["defaults", "cases"];
    private static readonly string[] DefaultsKeys = ["token", "request"];
    private static readonly string[] CaseKeys = ["name", "token", "token_file", "request", "state", "expect"];
    private static readonly string[] RequestKeys = ["method", "path", "headers", "body"];
    private static readonly string[] StateKeys = ["steps_used", "risk_used", "revoked"];
    private static readonly string[] RevocationKeys = ["jti", "agent", "sub", "client_id", "issued_before", "reason"];
    private static readonly string[] ExpectKeys = ["decision", "error", "challenge", "reason"];
    private static readonly string[] Decisions = ["allow", "deny", "shadow_deny"];

    /// <summary>Every refusal code the evaluator can give, so a misspelt expectation is an error, not a case that always fails.</summary>
    public static IReadOnlyList<string> ErrorCodes { get; } =
        [.. Enum.GetValues<GatewayError>().Where(e => e != GatewayError.None).Select(e => e.ToCode())];

    /// <summary>Loads one cases file; <paramref name="now"/> resolves relative times such as <c>issued_before: -1m</c>.</summary>
    public static PolicyCaseFile Load(string path, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var errors = new PolicyErrorCollector();
        var fullPath = Path.GetFullPath(path);
        var file = new PolicyFile(path, fullPath, Path.GetDirectoryName(fullPath) ?? fullPath, errors);
        var cases = new List<PolicyCase>();
        if (!File.Exists(fullPath))
        {
            errors.Add(file.Start, "no such cases file");
            return new PolicyCaseFile(path, cases, errors.ToSortedList());
        }

        var root = Parse(file, File.ReadAllText(fullPath, Encoding.UTF8));
        if (root is not null)
        {
            ReadRoot(file, root, now, cases);
        }

        return new PolicyCaseFile(path, cases, errors.ToSortedList());
    }

    private static YamlNode? Parse(PolicyFile file, string text)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text.TrimStart('\uFEFF')));
        }
        catch (YamlException e)
        {
            file.Error(e.Start, "YAML syntax error: " + e.Message);
            return null;
        }

        if (stream.Documents.Count == 0)
        {
            file.Errors.Add(file.Start, "the file is empty; it needs a 'cases' list");
            return null;
        }

        return stream.Documents[0].RootNode;
    }

    private static void ReadRoot(PolicyFile file, YamlNode root, DateTimeOffset now, List<PolicyCase> cases)
    {
        var reader = MappingReader.Open(file, root, "in the cases file", RootKeys);
        if (reader is null)
        {
            return;
        }

        JsonObject? defaultToken = null;
        MappingReader? defaultRequest = null;
        if (reader.Mapping("defaults", "in 'defaults'", DefaultsKeys) is { } defaults)
        {
            if (defaults.Value("token") is { } tokenNode)
            {
                defaultToken = ReadClaims(file, tokenNode);
            }

            defaultRequest = defaults.Mapping("request", "in 'defaults.request'", RequestKeys);
        }

        var list = reader.Value("cases", required: true);
        if (list is null)
        {
            return;
        }

        if (list is not YamlSequenceNode sequence)
        {
            file.Error(list, $"'cases' must be a list of cases, found {YamlValues.Describe(list)}");
            return;
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in sequence.Children)
        {
            if (ReadCase(file, node, cases.Count + 1, defaultToken, defaultRequest, now) is { } testCase)
            {
                if (!names.Add(testCase.Name))
                {
                    file.Error(node, $"two cases are named '{testCase.Name}'; names identify cases in reports");
                }

                cases.Add(testCase);
            }
        }
    }

    private static PolicyCase? ReadCase(PolicyFile file, YamlNode node, int number, JsonObject? defaultToken, MappingReader? defaultRequest, DateTimeOffset now)
    {
        var name = MappingReader.Peek(node, "name") ?? $"case {number}";
        var where = $"in case '{name}'";
        var reader = MappingReader.Open(file, node, where, CaseKeys);
        if (reader is null)
        {
            return null;
        }

        var errorsBefore = file.Errors.Count;
        JsonObject? claims = null;
        var noToken = false;
        var tokenFile = reader.String("token_file");
        if (reader.Value("token") is { } tokenNode)
        {
            if (tokenFile is not null)
            {
                file.Error(tokenNode, $"give 'token' or 'token_file' {where}, not both");
            }
            else if (tokenNode is YamlScalarNode { Value: "none" })
            {
                noToken = true;
            }
            else
            {
                claims = ReadClaims(file, tokenNode);
            }
        }

        if (tokenFile is null && !noToken)
        {
            claims = Merge(defaultToken, claims ?? []);
        }

        var request = ReadRequest(file, reader, defaultRequest, where);
        var state = reader.Mapping("state", $"in the state {where}", StateKeys) is { } stateReader
            ? ReadState(file, stateReader, where, now)
            : new PolicyCaseState();
        var expect = ReadExpectation(file, reader, where);
        if (request is null || expect is null || file.Errors.Count > errorsBefore)
        {
            return null;
        }

        return new PolicyCase
        {
            Name = name,
            Location = file.At(node),
            Claims = claims,
            TokenFile = tokenFile is null ? null : file.ResolvePath(tokenFile),
            NoToken = noToken,
            Request = request,
            State = state,
            Expect = expect,
        };
    }

    private static PolicyCaseRequest? ReadRequest(PolicyFile file, MappingReader reader, MappingReader? defaults, string where)
    {
        var request = reader.Mapping("request", $"in the request {where}", RequestKeys, required: true);
        if (request is null)
        {
            return null;
        }

        var path = request.String("path") ?? defaults?.String("path");
        if (path is null)
        {
            file.Error(request.Node, $"missing required key 'path' in the request {where}");
            return null;
        }

        if (!path.StartsWith('/'))
        {
            file.Error(request.Node, $"'path' in the request {where} must start with '/', found '{path}'");
            return null;
        }

        var headers = new List<KeyValuePair<string, string>>();
        foreach (var source in new[] { defaults, request })
        {
            if (source?.Value("headers") is not { } node)
            {
                continue;
            }

            if (node is not YamlMappingNode mapping)
            {
                file.Error(node, $"'headers' {where} must be a mapping such as {{ X-Account-Id: acc-1 }}, found {YamlValues.Describe(node)}");
                return null;
            }

            foreach (var (key, value) in mapping.Children)
            {
                if (key is not YamlScalarNode { Value: { Length: > 0 } name } || value is not YamlScalarNode scalar)
                {
                    file.Error(key, $"each header {where} is 'Name: value'");
                    return null;
                }

                headers.Add(new(name, scalar.Value ?? ""));
            }
        }

        return new PolicyCaseRequest
        {
            Method = (request.String("method") ?? defaults?.String("method") ?? "GET").ToUpperInvariant(),
            Path = path,
            Headers = headers,
            Body = request.String("body") ?? defaults?.String("body"),
        };
    }

    private static PolicyCaseState ReadState(PolicyFile file, MappingReader reader, string where, DateTimeOffset now)
    {
        var revocations = new List<RevocationRequest>();
        if (reader.Value("revoked") is { } revoked)
        {
            if (revoked is not YamlSequenceNode list)
            {
                file.Error(revoked, $"'revoked' {where} must be a list such as [{{ agent: agent:planner }}], found {YamlValues.Describe(revoked)}");
            }
            else
            {
                foreach (var item in list.Children)
                {
                    if (ReadRevocation(file, item, where, now) is { } request)
                    {
                        revocations.Add(request);
                    }
                }
            }
        }

        return new PolicyCaseState
        {
            StepsUsed = reader.Int("steps_used", 0) ?? 0,
            RiskUsed = reader.Int("risk_used", 0) ?? 0,
            Revocations = revocations,
        };
    }

    private static RevocationRequest? ReadRevocation(PolicyFile file, YamlNode node, string where, DateTimeOffset now)
    {
        var reader = MappingReader.Open(file, node, $"in a revocation {where}", RevocationKeys);
        if (reader is null)
        {
            return null;
        }

        var kinds = RevocationKinds.All.Where(reader.Has).ToList();
        if (kinds.Count != 1)
        {
            file.Error(node, $"a revocation {where} names exactly one of {string.Join(", ", RevocationKinds.All)}");
            return null;
        }

        if (!RevocationKinds.TryParse(kinds[0], out var kind))
        {
            return null;
        }

        DateTimeOffset? issuedBefore = null;
        if (reader.Scalar("issued_before") is { } cutOff)
        {
            issuedBefore = ReadTime(cutOff.Value ?? "", now);
            if (issuedBefore is null)
            {
                file.Error(cutOff, $"'issued_before' {where} must be an RFC 3339 time or a duration relative to now such as -5m, found '{cutOff.Value}'");
                return null;
            }
        }

        return new RevocationRequest
        {
            Kind = kind,
            Value = reader.String(kinds[0])!,
            IssuedBefore = issuedBefore,
            Reason = reader.String("reason") ?? "gateway test",
        };
    }

    private static PolicyExpectation? ReadExpectation(PolicyFile file, MappingReader reader, string where)
    {
        var node = reader.Value("expect", required: true);
        if (node is null)
        {
            return null;
        }

        // expect: allow | deny | shadow_deny | an error code (a refusal with that code).
        if (node is YamlScalarNode { Value: { } word } scalar)
        {
            if (Decisions.Contains(word, StringComparer.Ordinal))
            {
                return new PolicyExpectation { Decision = word };
            }

            if (CheckError(file, scalar, where))
            {
                return new PolicyExpectation { Decision = "deny", Error = word };
            }

            return null;
        }

        var expect = MappingReader.Open(file, node, $"in 'expect' {where}", ExpectKeys);
        if (expect is null)
        {
            return null;
        }

        var error = expect.Scalar("error");
        if (error is not null && !CheckError(file, error, where))
        {
            return null;
        }

        var decision = expect.Scalar("decision");
        var decisionWord = decision?.Value ?? (error is null ? null : "deny");
        if (decisionWord is null || !Decisions.Contains(decisionWord, StringComparer.Ordinal))
        {
            file.Error(decision ?? node, $"'decision' in 'expect' {where} must be allow, deny or shadow_deny{(decision is null ? " (or give an 'error')" : $", found '{decision.Value}'")}");
            return null;
        }

        if (decisionWord == "allow" && error is not null)
        {
            file.Error(error, $"an allowed call has no error code ('expect' {where})");
            return null;
        }

        return new PolicyExpectation
        {
            Decision = decisionWord,
            Error = error?.Value,
            Challenge = expect.String("challenge"),
            Reason = expect.String("reason"),
        };
    }

    private static bool CheckError(PolicyFile file, YamlScalarNode scalar, string where)
    {
        if (ErrorCodes.Contains(scalar.Value ?? "", StringComparer.Ordinal))
        {
            return true;
        }

        file.Error(scalar, $"'{scalar.Value}' {where} is neither allow, deny, shadow_deny nor an error code{DidYouMean.Hint(scalar.Value ?? "", [.. ErrorCodes, .. Decisions])}");
        return false;
    }

    /// <summary>
    /// The token mapping as JWT claims. Shorthands: <c>agent</c> (the <c>act</c> claim), <c>agents</c> (a delegation
    /// chain, calling agent first), <c>grants</c> (<c>authorization_details</c> of type <c>agent_capability</c>),
    /// <c>max_steps</c> and <c>intent</c> (<c>cap</c>). Everything else is a claim as written.
    /// </summary>
    private static JsonObject? ReadClaims(PolicyFile file, YamlNode node)
    {
        if (node is not YamlMappingNode mapping)
        {
            file.Error(node, $"'token' must be a mapping of claims (or 'none'), found {YamlValues.Describe(node)}");
            return null;
        }

        var claims = new JsonObject();
        JsonObject? cap = null;
        foreach (var (keyNode, value) in mapping.Children)
        {
            var key = ((YamlScalarNode)keyNode).Value ?? "";
            switch (key)
            {
                case "agent":
                    claims["act"] = new JsonObject { ["sub"] = ToJson(value) };
                    break;
                case "agents" when value is YamlSequenceNode agents:
                    JsonObject? act = null;
                    foreach (var agent in agents.Children.Reverse())
                    {
                        act = act is null ? new JsonObject { ["sub"] = ToJson(agent) } : new JsonObject { ["sub"] = ToJson(agent), ["act"] = act };
                    }

                    claims["act"] = act;
                    break;
                case "grants" when value is YamlSequenceNode grants:
                    var details = new JsonArray();
                    foreach (var grant in grants.Children)
                    {
                        var entry = ToJson(grant) as JsonObject ?? [];
                        entry["type"] ??= "agent_capability";
                        details.Add(entry);
                    }

                    claims["authorization_details"] = details;
                    break;
                case "max_steps":
                    (cap ??= [])["max_steps"] = ToJson(value);
                    break;
                case "intent":
                    (cap ??= [])["intent"] = new JsonObject { ["method"] = ToJson(value) };
                    break;
                default:
                    claims[key] = ToJson(value);
                    break;
            }
        }

        if (cap is not null)
        {
            var merged = claims["cap"] as JsonObject ?? [];
            foreach (var (key, value) in cap)
            {
                merged[key] = value?.DeepClone();
            }

            claims["cap"] = merged;
        }

        return claims;
    }

    private static JsonObject Merge(JsonObject? defaults, JsonObject claims)
    {
        if (defaults is null)
        {
            return claims;
        }

        var merged = (JsonObject)defaults.DeepClone();
        foreach (var (key, value) in claims)
        {
            merged[key] = value?.DeepClone();
        }

        return merged;
    }

    /// <summary>YAML 1.2 core schema: plain integers, booleans and nulls keep their type; anything quoted is text.</summary>
    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JsonObject(mapping.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value ?? "", ToJson(c.Value)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(ToJson)]),
        YamlScalarNode scalar when YamlValues.IsNull(scalar) => null,
        YamlScalarNode { Style: ScalarStyle.Plain, Value: "true" or "false" } scalar => JsonValue.Create(scalar.Value == "true"),
        YamlScalarNode { Style: ScalarStyle.Plain } scalar when long.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) => JsonValue.Create(number),
        YamlScalarNode scalar => JsonValue.Create(scalar.Value),
        _ => null,
    };

    /// <summary>An RFC 3339 time, or a duration relative to <paramref name="now"/> (<c>-5m</c>, <c>+1h</c>, <c>0s</c>).</summary>
    internal static DateTimeOffset? ReadTime(string text, DateTimeOffset now)
    {
        var sign = text.StartsWith('-') ? -1 : 1;
        var duration = text.TrimStart('-', '+');
        if (PolicyDuration.TryParse(duration, out var offset))
        {
            return now + (sign * offset);
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) ? time : null;
    }
}

/// <summary>The cases of one file, or the problems that kept it from loading.</summary>
public sealed record PolicyCaseFile(string Path, IReadOnlyList<PolicyCase> Cases, IReadOnlyList<PolicyError> Errors);
