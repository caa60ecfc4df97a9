using System.Text.Json;
using Gateway.Budgets;
using Gateway.Delegation;
using Gateway.Policy;
using Gateway.Revocation;
using Gateway.Tokens;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Gateway.Admin;

/// <summary>
/// <c>POST /delegations</c>: an RFC 8693-style exchange of a parent capability token for a
/// narrower child token for another agent.
/// </summary>
/// <remarks>
/// The parent token is the authority, so the caller either holds an admin key or presents the
/// parent itself as its bearer credential (an agent delegating its own token). The body:
/// <code>
/// { "subject_token": "PARENT", "actor": "agent:B",
///   "authorization_details": [ { "type": "agent_capability", "actions": [...], "resources": [...] } ],
///   "expires_in": 300, "max_steps": 5, "sub": "user:alice" }
/// </code>
/// <c>sub</c> is optional: the parent's, which a child keeps; any other is refused (<c>subject_change</c>).
/// </remarks>
internal static class DelegationEndpoints
{
    private const int MaxBodyBytes = 128 * 1024;
    private const string AccessTokenType = "urn:ietf:params:oauth:token-type:access_token";

    public static void Map(IEndpointRouteBuilder endpoints) => endpoints.MapPost("/delegations", DelegateAsync);

    private static async Task<IResult> DelegateAsync(
        HttpRequest request,
        PolicyMonitor policies,
        AdminKeyAuthenticator admins,
        DelegationServices delegations,
        RevocationIndex revocations,
        StatusLists.StatusListCache statusLists,
        AdminEvents events,
        CancellationToken cancellationToken)
    {
        var body = await AdminJson.ReadAsync(request, MaxBodyBytes, cancellationToken);
        if (body.Problem is not null)
        {
            return Problem(400, "invalid_request", body.Problem);
        }

        using var document = body.Document!;
        var root = document.RootElement;
        if (!TryReadString(root, "subject_token", out var parentText))
        {
            return Problem(400, "invalid_request", "The body needs 'subject_token': the parent capability token.");
        }

        var presented = AuthorizationBearer(request);
        var adminKey = admins.Authenticate(request);
        if (adminKey is null && !string.Equals(presented, parentText, StringComparison.Ordinal))
        {
            request.HttpContext.Response.Headers.WWWAuthenticate = "Bearer realm=\"gateway-admin\"";
            return Problem(401, "unauthorized", "Present an admin key, or the parent token itself as 'Authorization: Bearer PARENT'.");
        }

        if (adminKey is not null)
        {
            // So that the audit trail names the admin key, not the parent's agent, as the one who delegated.
            request.HttpContext.Features.Set(new AdminEndpoints.AdminCaller(adminKey));
        }

        // The parent is refused as checks 2 and 3 refuse it at the proxy: same code, reason and challenge.
        var snapshot = policies.Current;
        var validation = await snapshot.Tokens.ValidateAsync(parentText, cancellationToken);
        if (!validation.IsValid)
        {
            return InvalidToken(request, validation.Failure!.Description, validation.Failure.Reason);
        }

        var parent = validation.Token!;
        if (revocations.Match(parent) is { } revoked)
        {
            return InvalidToken(request, "The parent token is revoked, so nothing can be delegated from it. " + revoked.Describe(), DelegationErrors.Revoked);
        }

        // A parent revoked by its issuer's status list is as revoked as one the index names; one whose list cannot be had cannot be known not to be.
        if (parent.StatusList is not null)
        {
            var status = await statusLists.CheckAsync(parent, snapshot, cancellationToken);
            if (status.Outcome == StatusLists.StatusOutcome.Unavailable)
            {
                return Problem(503, "policy_store_unavailable", status.Detail!);
            }

            if (status.Outcome != StatusLists.StatusOutcome.Valid)
            {
                return InvalidToken(request, "The parent token is revoked, so nothing can be delegated from it. " + status.Detail, DelegationErrors.Revoked);
            }
        }

        // A DPoP-bound token is only usable with a proof from its key (check 4). Presented here as a plain bearer, a
        // stolen bound token would otherwise buy an unbound child with the same grants.
        if (adminKey is null && parent.ConfirmationJkt is not null)
        {
            request.HttpContext.Response.Headers.WWWAuthenticate = "DPoP error=\"invalid_dpop_proof\", error_description=\"The parent token is bound to a DPoP key\"";
            return Problem(401, "invalid_dpop_proof", "The parent token is bound to a DPoP key (cnf.jkt), and this endpoint does not check DPoP proofs; only an admin key can delegate from a bound token.");
        }

        if (!TryReadRequest(root, out var delegation, out var problem))
        {
            return Problem(400, "invalid_request", problem);
        }

        var service = delegations.For(snapshot);
        if (service is null)
        {
            return Problem(404, "delegation_disabled", "This gateway has no 'delegation' section in its policy, so it mints no child tokens.");
        }

        DelegationResult result;
        try
        {
            result = await service.DelegateAsync(parent, delegation, cancellationToken);
        }
        catch (BudgetStoreUnavailableException ex)
        {
            return Problem(503, "policy_store_unavailable", ex.Message);
        }
        catch (StatusLists.StatusListStoreUnavailableException ex)
        {
            return Problem(503, "policy_store_unavailable", ex.Message + " The child's status list entry could not be allocated, so nothing was minted.");
        }

        if (!result.Succeeded)
        {
            return result.Error == DelegationErrors.InvalidRequest
                ? Problem(400, "invalid_request", result.Detail)
                : Problem(403, "delegation_denied", result.Detail, result.Error);
        }

        await events.DelegatedAsync(request.HttpContext, parent, delegation.Agent, result.Jti);
        var expiresIn = (long)Math.Max(0, (result.Expires.Value - snapshot.Policy.Gateway.ClockSkew - DateTimeOffset.UtcNow).TotalSeconds);
        return Results.Json(new Dictionary<string, object>
        {
            ["access_token"] = result.Token,
            ["issued_token_type"] = AccessTokenType,
            ["token_type"] = "Bearer",
            ["expires_in"] = Math.Max(expiresIn, 0),
            ["jti"] = result.Jti,
            ["max_steps"] = result.MaxSteps,
        });
    }

    private static bool TryReadRequest(JsonElement root, out DelegationRequest request, out string problem)
    {
        request = null!;
        problem = "";
        if (!TryReadString(root, "actor", out var agent))
        {
            problem = "The body needs 'actor': the agent the child token is for.";
            return false;
        }

        if (!root.TryGetProperty("authorization_details", out var details) || details.ValueKind != JsonValueKind.Array || details.GetArrayLength() == 0)
        {
            problem = "The body needs 'authorization_details': the narrower grants, as agent_capability entries.";
            return false;
        }

        var grants = new List<DelegationGrant>();
        foreach (var entry in details.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object
                || !entry.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != CapabilityTokenReader.AgentCapabilityType
                || !TryReadStrings(entry, "actions", out var actions) || !TryReadStrings(entry, "resources", out var resources))
            {
                problem = "Each authorization_details entry must be {\"type\":\"agent_capability\",\"actions\":[...],\"resources\":[...]}.";
                return false;
            }

            grants.Add(new DelegationGrant(actions, resources));
        }

        TimeSpan? ttl = null;
        if (root.TryGetProperty("expires_in", out var expiresIn))
        {
            if (expiresIn.ValueKind != JsonValueKind.Number || !expiresIn.TryGetInt32(out var seconds) || seconds <= 0)
            {
                problem = "'expires_in' must be a positive number of seconds.";
                return false;
            }

            ttl = TimeSpan.FromSeconds(seconds);
        }

        string? subject = null;
        if (root.TryGetProperty("sub", out var sub))
        {
            if (sub.ValueKind != JsonValueKind.String || sub.GetString() is not { Length: > 0 } text)
            {
                problem = "'sub', when given, must be the user the child acts for: the parent's 'sub', which delegation never changes.";
                return false;
            }

            subject = text;
        }

        int? maxSteps = null;
        if (root.TryGetProperty("max_steps", out var steps))
        {
            if (steps.ValueKind != JsonValueKind.Number || !steps.TryGetInt32(out var n) || n <= 0)
            {
                problem = "'max_steps' must be a positive whole number.";
                return false;
            }

            maxSteps = n;
        }

        request = new DelegationRequest { Agent = agent, Grants = grants, Ttl = ttl, MaxSteps = maxSteps, Subject = subject };
        return true;
    }

    private static bool TryReadString(JsonElement root, string name, out string value)
    {
        value = "";
        if (root.TryGetProperty(name, out var element) && element.ValueKind == JsonValueKind.String && element.GetString() is { Length: > 0 } text)
        {
            value = text;
            return true;
        }

        return false;
    }

    private static bool TryReadStrings(JsonElement entry, string name, out IReadOnlyList<string> values)
    {
        values = [];
        if (!entry.TryGetProperty(name, out var array) || array.ValueKind != JsonValueKind.Array || array.GetArrayLength() == 0)
        {
            return false;
        }

        var list = new List<string>();
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                return false;
            }

            list.Add(item.GetString()!);
        }

        values = list;
        return true;
    }

    private static string? AuthorizationBearer(HttpRequest request)
    {
        var value = request.Headers.Authorization.ToString();
        return value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? value["Bearer ".Length..].Trim() : null;
    }

    private static IResult InvalidToken(HttpRequest request, string detail, string reason)
    {
        // RFC 7235 quoted-string, visible ASCII only, as the proxy's challenges are written.
        var description = string.Concat(detail.Select(c => c is '"' or '\\' or < ' ' or > '~' ? '\'' : c));
        request.HttpContext.Response.Headers.WWWAuthenticate = $"Bearer error=\"invalid_token\", error_description=\"{description}\"";
        return Problem(401, "invalid_token", detail, reason);
    }

    private static IResult Problem(int status, string error, string detail, string? reason = null) =>
        AdminEndpoints.AdminProblem(status, error, detail, reason);
}

/// <summary>
/// One <see cref="DelegationService"/> per loaded policy, built on first use: its signing key
/// comes from the policy's <c>delegation.signing_key_file</c>, which a reload may change.
/// </summary>
public sealed class DelegationServices : IDisposable
{
    private readonly IBudgetStore _budgets;
    private readonly RevocationIndex _revocations;
    private readonly StatusLists.IStatusListStore? _statusLists;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly Lock _lock = new();
    private (PolicySnapshot Snapshot, DelegationService Service, SigningKey Key)? _current;

    public DelegationServices(IBudgetStore budgets, RevocationIndex revocations, TimeProvider time, ILoggerFactory loggers, StatusLists.IStatusListStore? statusLists = null)
    {
        _statusLists = statusLists;
        _budgets = budgets;
        _revocations = revocations;
        _time = time;
        _loggers = loggers;
    }

    public DelegationService? For(PolicySnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (snapshot.Policy.Delegation is null)
        {
            return null;
        }

        lock (_lock)
        {
            if (_current is { } current && ReferenceEquals(current.Snapshot, snapshot))
            {
                return current.Service;
            }

            // The previous key stays undisposed: a request may still be minting with it, and a
            // key object is small; the GC reclaims it once nothing holds the old service.
            var key = SigningKey.Load(snapshot.Policy.Delegation.SigningKeyFile);
            var service = new DelegationService(snapshot.Policy, key, _budgets, _revocations, _time, _loggers.CreateLogger<DelegationService>(), _statusLists);
            _current = (snapshot, service, key);
            return service;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _current?.Key.Dispose();
            _current = null;
        }
    }
}
