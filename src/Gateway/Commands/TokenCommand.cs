using System.CommandLine;
using System.Text.Json;
using Gateway.Policy;
using Gateway.Tokens;
using Microsoft.IdentityModel.Tokens;

namespace Gateway.Host.Commands;

/// <summary><c>gateway token mint</c>: prints a signed capability token (for tests and demos).</summary>
internal static class TokenCommand
{
    public static Command Create()
    {
        var key = new Option<string>("--key") { Description = "Private JWK file to sign with.", Required = true };
        var iss = new Option<string>("--iss") { Description = "Issuer (iss).", Required = true };
        var aud = new Option<string>("--aud") { Description = "Audience (aud): the gateway's audience.", Required = true };
        var sub = new Option<string>("--sub") { Description = "The human the agent acts for (sub).", Required = true };
        var agent = new Option<string>("--agent") { Description = "The agent that will call (act.sub).", Required = true };
        var action = new Option<string[]>("--action") { Description = "Granted action, e.g. crm.customers:read (repeatable).", Required = true, AllowMultipleArgumentsPerToken = true };
        var resource = new Option<string[]>("--resource") { Description = "Granted resource, e.g. crm:customer/42 (repeatable).", Required = true, AllowMultipleArgumentsPerToken = true };
        var ttl = new Option<string>("--ttl") { Description = "Lifetime, e.g. 10m.", DefaultValueFactory = _ => "10m" };
        var maxSteps = new Option<int?>("--max-steps") { Description = "cap.max_steps: calls this token may make in all." };
        var intent = new Option<string?>("--intent") { Description = "cap.intent.method: policy, explicit or step_up." };
        var acr = new Option<string?>("--acr") { Description = "acr (authentication context); sets auth_time to now." };
        var parent = new Option<string?>("--parent") { Description = "Parent token (compact JWS) to delegate from: the child's act and cap.chain extend the parent's." };
        var cnfJkt = new Option<string?>("--cnf-jkt") { Description = "cnf.jkt: bind the token to a DPoP key thumbprint." };
        var clientId = new Option<string?>("--client-id") { Description = "client_id: the agent runtime's OAuth client (revocable as a whole)." };
        var mint = new Command("mint", "Mint a signed capability token and print it.") { key, iss, aud, sub, agent, action, resource, ttl, maxSteps, intent, acr, parent, cnfJkt, clientId };
        mint.SetAction(async (result, _) =>
        {
            if (!PolicyDuration.TryParse(result.GetValue(ttl), out var lifetime) || lifetime <= TimeSpan.Zero)
            {
                await Console.Error.WriteLineAsync($"--ttl: '{result.GetValue(ttl)}' is not a duration ({PolicyDuration.SyntaxHint}).");
                return 1;
            }

            IntentMethod? method = null;
            if (result.GetValue(intent) is { } intentText)
            {
                if (!IntentMethods.TryParse(intentText, out var parsed))
                {
                    await Console.Error.WriteLineAsync("--intent must be policy, explicit or step_up.");
                    return 1;
                }

                method = parsed;
            }

            CapabilityToken? parentToken = null;
            if (result.GetValue(parent) is { } parentText)
            {
                parentToken = ReadUnverified(parentText);
                if (parentToken is null)
                {
                    await Console.Error.WriteLineAsync("--parent is not a readable capability token.");
                    return 1;
                }
            }

            SigningKey signingKey;
            try
            {
                signingKey = SigningKey.Load(result.GetValue(key)!);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
            {
                var path = result.GetValue(key)!;
                var reason = ex is FormatException { InnerException: FormatException inner } ? inner.Message : ex.Message;
                await Console.Error.WriteLineAsync($"--key: cannot sign with '{path}': {reason}{PrivateSibling(path)}");
                return 1;
            }

            using var disposeKey = signingKey;
            var minter = new TokenMinter(signingKey);
            string token;
            try
            {
                token = minter.Mint(new MintRequest
                {
                    Issuer = result.GetValue(iss)!,
                    Audience = result.GetValue(aud)!,
                    Subject = result.GetValue(sub)!,
                    Agent = result.GetValue(agent)!,
                    Actions = result.GetValue(action)!,
                    Resources = result.GetValue(resource)!,
                    Ttl = lifetime,
                    MaxSteps = result.GetValue(maxSteps),
                    Intent = method,
                    Acr = result.GetValue(acr),
                    AuthTime = result.GetValue(acr) is null ? null : DateTimeOffset.UtcNow,
                    ConfirmationJkt = result.GetValue(cnfJkt),
                    ClientId = result.GetValue(clientId),
                    Parent = parentToken,
                });
            }
            catch (ArgumentException ex)
            {
                // The minter names the first bad field (a pattern that does not parse, a --sub other than the parent's).
                var message = ex.ParamName is { } name ? ex.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : ex.Message;
                await Console.Error.WriteLineAsync($"token mint: {message}");
                return 1;
            }

            await Console.Out.WriteLineAsync(token);
            return 0;
        });

        return new Command("token", "Work with capability tokens.") { mint };
    }

    /// <summary>The private key keys generate wrote beside a public set, when the user passed the set.</summary>
    private static string PrivateSibling(string path)
    {
        const string PublicSuffix = ".jwks.json";
        if (!path.EndsWith(PublicSuffix, StringComparison.OrdinalIgnoreCase))
        {
            return "";
        }

        var candidate = path[..^PublicSuffix.Length] + "-private.jwk";
        return File.Exists(candidate) ? $"; here that is --key {candidate}" : "";
    }

    /// <summary>
    /// Offline minting reads the parent's claims without verifying it: the gateway that later
    /// receives the child verifies every hop. The online exchange (POST /delegations) verifies.
    /// </summary>
    private static CapabilityToken? ReadUnverified(string compact)
    {
        var parts = compact.Trim().Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        try
        {
            using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(parts[1]));
            var root = payload.RootElement;
            var issuer = root.TryGetProperty("iss", out var iss) ? iss.GetString() ?? "" : "";
            var audience = root.TryGetProperty("aud", out var aud)
                ? aud.ValueKind == JsonValueKind.Array ? aud[0].GetString() ?? "" : aud.GetString() ?? ""
                : "";
            var rules = new CapabilityTokenReader.Rules(audience, DateTimeOffset.UtcNow, TimeSpan.FromSeconds(30), TimeSpan.FromDays(3650));
            return CapabilityTokenReader.TryRead(root, issuer, rules, out var token) is null ? token : null;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }
}
