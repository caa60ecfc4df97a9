using Gateway.Budgets;
using Gateway.Policy;
using Gateway.Revocation;
using Gateway.Tokens;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Delegation;

/// <summary>
/// Attenuated delegation (<c>POST /delegations</c>, RFC 8693 style): mints a child token for another agent from a
/// validated parent, only when the child can do nothing the parent could not. One instance per loaded policy;
/// docs/delegation.md has every rule.
/// </summary>
/// <remarks>
/// The child carries the parent's <c>sub</c>, <c>client_id</c>, <c>cap.intent</c> (never raised) and <c>acr</c> and
/// <c>auth_time</c> (copied only together, so the child can never claim a fresher authentication than the parent);
/// <c>act</c> nests the parent's actors under the child agent and <c>cap.chain</c> is the parent's <c>jti</c> followed by
/// the parent's chain. The parent's <c>cnf</c> is not copied: the child agent does not hold the parent's DPoP key, so it
/// may bring its own (<see cref="DelegationRequest.ConfirmationJkt"/>).
/// </remarks>
public sealed partial class DelegationService
{
    private readonly GatewayPolicy _policy;
    private readonly DelegationSettings _settings;
    private readonly TokenMinter _minter;
    private readonly IBudgetStore _budgets;
    private readonly RevocationIndex? _revocations;
    private readonly StatusLists.IStatusListStore? _statusLists;
    private readonly SigningKey _signingKey;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <param name="policy">The loaded policy; its <see cref="GatewayPolicy.Delegation"/> section is required.</param>
    /// <param name="signingKey">The key of <see cref="DelegationSettings.SigningKeyFile"/>; the caller owns and disposes it.</param>
    /// <param name="budgets">Where the parent's used steps are read.</param>
    /// <param name="revocations">When given, a revoked parent is refused (<see cref="DelegationErrors.Revoked"/>).</param>
    /// <param name="timeProvider">The clock; the system's when null.</param>
    /// <param name="logger">Where refusals and mints are logged (ids and codes, never tokens).</param>
    /// <param name="statusLists">Where children's status list indices are allocated, when <c>delegation.status_list</c> is set.</param>
    public DelegationService(
        GatewayPolicy policy,
        SigningKey signingKey,
        IBudgetStore budgets,
        RevocationIndex? revocations = null,
        TimeProvider? timeProvider = null,
        ILogger<DelegationService>? logger = null,
        StatusLists.IStatusListStore? statusLists = null)
    {
        _statusLists = statusLists;
        _signingKey = signingKey;
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(signingKey);
        ArgumentNullException.ThrowIfNull(budgets);
        _settings = policy.Delegation ?? throw new ArgumentException("The policy has no 'delegation' section, so the gateway has no key to mint child tokens with.", nameof(policy));
        _policy = policy;
        _budgets = budgets;
        _revocations = revocations;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _minter = new TokenMinter(signingKey, _timeProvider);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// Checks <paramref name="request"/> against <paramref name="parent"/> and mints the child, or says why not.
    /// The parent must already be validated (<see cref="CapabilityTokenValidator"/>): this checks narrowing, not signatures.
    /// </summary>
    /// <exception cref="BudgetStoreUnavailableException">The parent's remaining steps could not be read (answer 503).</exception>
    public async Task<DelegationResult> DelegateAsync(CapabilityToken parent, DelegationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(request);

        var refusal = CheckRequest(request) ?? CheckRevoked(parent) ?? CheckChain(parent, request) ?? CheckScope(parent, request);
        if (refusal is not null)
        {
            return Refuse(parent, refusal);
        }

        // Whole seconds, as iat and exp are: the exp checked here is the exp minted.
        var now = _timeProvider.GetUtcNow();
        var issuedAt = DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds());
        refusal = CheckLifetime(parent, request, now, issuedAt, out var ttl);
        if (refusal is not null)
        {
            return Refuse(parent, refusal);
        }

        var remaining = await RemainingStepsAsync(parent, cancellationToken);
        if (remaining <= 0)
        {
            return Refuse(parent, DelegationResult.Refused(DelegationErrors.StepsWidening, "The parent token has no steps left to delegate."));
        }

        if (request.MaxSteps > remaining)
        {
            return Refuse(parent, DelegationResult.Refused(DelegationErrors.StepsWidening,
                $"max_steps {request.MaxSteps} is more than the {remaining} {(remaining == 1 ? "step" : "steps")} the parent token has left; a child's calls are charged to its parent too."));
        }

        var maxSteps = request.MaxSteps ?? remaining;
        var jti = TokenMinter.NewJti();
        var status = await AllocateStatusAsync(parent, jti, issuedAt + ttl, cancellationToken);
        var first = request.Grants[0];
        var (acr, authTime) = parent.Acr is not null && parent.AuthTime is null ? (null, null) : (parent.Acr, parent.AuthTime);
        var token = _minter.Mint(new MintRequest
        {
            Issuer = _settings.Issuer,
            Audience = _policy.Gateway.Audience,
            Subject = parent.Subject,
            Agent = request.Agent,
            Actions = first.Actions,
            Resources = first.Resources,
            AdditionalGrants = [.. request.Grants.Skip(1).Select(g => new MintGrant(g.Actions, g.Resources))],
            Ttl = ttl,
            IssuedAt = issuedAt,
            MaxSteps = maxSteps,

            // Absent reads as policy, so a parent at policy level keeps its child free of a cap.intent it never had.
            Intent = parent.Intent == IntentMethod.Policy && parent.IntentEvidence is null ? null : parent.Intent,
            IntentEvidence = parent.IntentEvidence,
            Acr = acr,
            AuthTime = authTime,
            ClientId = parent.ClientId,
            ConfirmationJkt = request.ConfirmationJkt,
            Parent = parent,
            Jti = jti,
            Status = status,
        });

        var expires = issuedAt + ttl;
        LogMinted(_logger, parent.Jti, jti, parent.DelegationDepth + 1, maxSteps);
        return DelegationResult.Minted(token, jti, expires, maxSteps);
    }

    /// <summary>
    /// The child's entry in the published list, recorded under its own <c>jti</c> and every ancestor's, so revoking any
    /// of them sets its bit. From the shared store, so two replicas never hand out one index.
    /// </summary>
    /// <exception cref="StatusLists.StatusListStoreUnavailableException">The store cannot be reached (answer 503).</exception>
    private async ValueTask<StatusLists.StatusListReference?> AllocateStatusAsync(CapabilityToken parent, string jti, DateTimeOffset expires, CancellationToken cancellationToken)
    {
        if (_settings.StatusList is not { } list || _statusLists is null)
        {
            return null;
        }

        var index = await _statusLists.AllocateAsync(jti, [parent.Jti, .. parent.Chain], expires, list.Size, cancellationToken);
        return new StatusLists.StatusListReference(list.Uri.AbsoluteUri, list.Uri, index);
    }

    /// <summary>The published list as a <c>statuslist+jwt</c> over <paramref name="bits"/>, signed with the delegation key.</summary>
    public string SignStatusList(ReadOnlySpan<byte> bits)
    {
        var list = _settings.StatusList ?? throw new InvalidOperationException("The policy publishes no status list (delegation.status_list).");
        var now = _timeProvider.GetUtcNow().ToUnixTimeSeconds();
        var header = new System.Buffers.ArrayBufferWriter<byte>(128);
        using (var writer = new System.Text.Json.Utf8JsonWriter(header))
        {
            writer.WriteStartObject();
            writer.WriteString("alg", _signingKey.Algorithm);
            writer.WriteString("kid", _signingKey.KeyId);
            writer.WriteString("typ", "statuslist+jwt");
            writer.WriteEndObject();
        }

        var payload = new System.Buffers.ArrayBufferWriter<byte>(bits.Length + 256);
        using (var writer = new System.Text.Json.Utf8JsonWriter(payload))
        {
            var ttl = (long)Math.Ceiling(list.Ttl.TotalSeconds);
            writer.WriteStartObject();
            writer.WriteString("sub", list.Uri.AbsoluteUri);
            writer.WriteString("iss", _settings.Issuer);
            writer.WriteNumber("iat", now);

            // Long enough to be kept for its ttl by a relying party whose clock is behind, short enough that an old copy replayed later is refused.
            writer.WriteNumber("exp", now + (2 * ttl));
            writer.WriteNumber("ttl", ttl);
            writer.WriteStartObject("status_list");
            writer.WriteNumber("bits", 1);
            writer.WriteString("lst", StatusLists.StatusList.Encode(bits));
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return JwsWriter.Sign(header.WrittenSpan, payload.WrittenSpan, _signingKey.SecurityKey, _signingKey.Algorithm);
    }

    private static DelegationResult? CheckRequest(DelegationRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.Agent) || request.Agent.Length > CapabilityTokenReader.MaxIdentifierLength || request.Agent.Any(char.IsControl))
        {
            return Invalid($"'agent' must name the child agent: a non-empty string of at most {CapabilityTokenReader.MaxIdentifierLength} characters.");
        }

        if (request.Grants is not { Count: > 0 and <= DelegationRequest.MaxEntries })
        {
            return Invalid($"Ask for 1 to {DelegationRequest.MaxEntries} grant entries.");
        }

        foreach (var grant in request.Grants)
        {
            if (grant?.Actions is not { Count: > 0 and <= DelegationRequest.MaxPatternsPerEntry } || grant.Resources is not { Count: > 0 and <= DelegationRequest.MaxPatternsPerEntry })
            {
                return Invalid($"Every grant entry needs 1 to {DelegationRequest.MaxPatternsPerEntry} actions and 1 to {DelegationRequest.MaxPatternsPerEntry} resources.");
            }

            if (grant.Actions.FirstOrDefault(a => !ActionPattern.TryParse(a ?? "", out _)) is { } action)
            {
                return Invalid($"'{Quote(action)}' is not an action (service.object:verb, a part may be *).");
            }

            if (grant.Resources.FirstOrDefault(r => !ResourcePattern.TryParse(r ?? "", out _)) is { } resource)
            {
                return Invalid($"'{Quote(resource)}' is not a resource (service:type/id, * for one segment, trailing /** for any).");
            }
        }

        if (request.Ttl is { } ttl && ttl < TimeSpan.FromSeconds(1))
        {
            return Invalid("'ttl' must be at least one second.");
        }

        if (request.MaxSteps is <= 0)
        {
            return Invalid("'max_steps' must be positive.");
        }

        if (request.ConfirmationJkt is not null && !CapabilityTokenReader.IsThumbprint(request.ConfirmationJkt))
        {
            return Invalid("'cnf_jkt' must be the base64url SHA-256 JWK thumbprint (43 characters) of the child agent's DPoP key.");
        }

        return null;
    }

    private DelegationResult? CheckRevoked(CapabilityToken parent) =>
        _revocations?.Match(parent) is { } match
            ? DelegationResult.Refused(DelegationErrors.Revoked, "The parent token is revoked, so nothing can be delegated from it. " + match.Describe())
            : null;

    private DelegationResult? CheckChain(CapabilityToken parent, DelegationRequest request)
    {
        if (request.Subject is not null && !string.Equals(request.Subject, parent.Subject, StringComparison.Ordinal))
        {
            return DelegationResult.Refused(DelegationErrors.SubjectChange,
                "A child token acts for the same user as its parent; delegation cannot change 'sub'.");
        }

        if (parent.Actors.Contains(request.Agent, StringComparer.Ordinal))
        {
            return DelegationResult.Refused(DelegationErrors.Cycle,
                $"Agent '{Quote(request.Agent)}' already appears in the parent's delegation chain; an agent may appear only once.");
        }

        if (parent.Actors.Distinct(StringComparer.Ordinal).Count() != parent.Actors.Count)
        {
            return DelegationResult.Refused(DelegationErrors.Cycle, "The parent's delegation chain already names an agent twice.");
        }

        var depth = parent.DelegationDepth + 1;
        var limit = _policy.Gateway.MaxDelegationDepth;
        return depth > limit
            ? DelegationResult.Refused(DelegationErrors.TooDeep, $"The child would be {depth} hops deep; this gateway allows at most {limit} (gateway.max_delegation_depth).")
            : null;
    }

    /// <summary>
    /// Every (action, resource) pair a requested entry grants must be granted by ONE parent entry: some action
    /// pattern of that entry covers the requested action pattern and some resource pattern of the same entry covers
    /// the requested resource pattern (<see cref="ActionPattern.Covers(ActionPattern)"/>, <see cref="ResourcePattern.Covers(ResourcePattern)"/>).
    /// Then every concrete call the child can make, its parent could make through that one entry. Checked per pair
    /// rather than per requested entry, so a child may combine what several parent entries grant into one entry
    /// only where each pair is still granted whole by one of them.
    /// </summary>
    private static DelegationResult? CheckScope(CapabilityToken parent, DelegationRequest request)
    {
        var parentGrants = parent.Grants;
        foreach (var grant in request.Grants)
        {
            var actions = grant.Actions.Select(Parse<ActionPattern>(ActionPattern.TryParse)).ToArray();
            var resources = grant.Resources.Select(Parse<ResourcePattern>(ResourcePattern.TryParse)).ToArray();

            // covered[i, p]: parent entry p covers requested pattern i; a pair needs one p covering both.
            var actionCovered = new bool[actions.Length, parentGrants.Count];
            var resourceCovered = new bool[resources.Length, parentGrants.Count];
            for (var p = 0; p < parentGrants.Count; p++)
            {
                for (var i = 0; i < actions.Length; i++)
                {
                    actionCovered[i, p] = parentGrants[p].Actions.Any(a => a.Covers(actions[i]));
                }

                for (var j = 0; j < resources.Length; j++)
                {
                    resourceCovered[j, p] = parentGrants[p].Resources.Any(r => r.Covers(resources[j]));
                }
            }

            for (var i = 0; i < actions.Length; i++)
            {
                if (!AnyEntry(actionCovered, i))
                {
                    return DelegationResult.Refused(DelegationErrors.ScopeWidening,
                        $"The parent token does not grant '{actions[i]}'; a child may only narrow what its parent grants.");
                }
            }

            for (var j = 0; j < resources.Length; j++)
            {
                if (!AnyEntry(resourceCovered, j))
                {
                    return DelegationResult.Refused(DelegationErrors.ScopeWidening,
                        $"The parent token does not grant '{resources[j]}'; a child may only narrow what its parent grants.");
                }

                for (var i = 0; i < actions.Length; i++)
                {
                    if (!SameEntry(actionCovered, i, resourceCovered, j))
                    {
                        return DelegationResult.Refused(DelegationErrors.ScopeWidening,
                            $"The parent token grants '{actions[i]}' and '{resources[j]}' only in different authorization_details entries, never together; ask for them in separate entries as the parent has them.");
                    }
                }
            }
        }

        return null;
    }

    private DelegationResult? CheckLifetime(CapabilityToken parent, DelegationRequest request, DateTimeOffset now, DateTimeOffset issuedAt, out TimeSpan ttl)
    {
        ttl = TimeSpan.Zero;
        if (parent.Expires <= now)
        {
            return DelegationResult.Refused(DelegationErrors.ParentExpired, "The parent token has expired; there is no lifetime left to delegate.");
        }

        var maxTtl = _settings.MaxTtl;
        var untilParentExpires = parent.Expires - issuedAt;
        if (request.Ttl is not { } requested)
        {
            var longest = untilParentExpires < maxTtl ? untilParentExpires : maxTtl;
            ttl = TimeSpan.FromSeconds(Math.Floor(longest.TotalSeconds));
            return ttl >= TimeSpan.FromSeconds(1) ? null
                : DelegationResult.Refused(DelegationErrors.ParentExpired, "The parent token expires within a second; there is no lifetime left to delegate.");
        }

        ttl = TimeSpan.FromSeconds(Math.Floor(requested.TotalSeconds));
        if (ttl > maxTtl)
        {
            return DelegationResult.Refused(DelegationErrors.TtlTooLong,
                $"A child token may live at most {(long)maxTtl.TotalSeconds} seconds (delegation.max_ttl); {(long)ttl.TotalSeconds} were asked for.");
        }

        return issuedAt + ttl > parent.Expires
            ? DelegationResult.Refused(DelegationErrors.LifetimeWidening,
                $"The child would expire after its parent, which has {(long)Math.Max(0, untilParentExpires.TotalSeconds)} seconds left; ask for a ttl of at most that.")
            : null;
    }

    /// <summary>
    /// What the parent may still spend: its own limit (<c>cap.max_steps</c>, else <c>budgets.steps.default</c>) minus
    /// what it used, capped by what each ancestor the store knows has left, since every call of the child is charged
    /// to all of them.
    /// </summary>
    private async Task<int> RemainingStepsAsync(CapabilityToken parent, CancellationToken cancellationToken)
    {
        var reads = new Task<BudgetSnapshot>[parent.Chain.Count + 1];
        reads[0] = _budgets.GetAsync(parent.Subject, parent.Agent, parent.Jti, cancellationToken).AsTask();
        for (var i = 0; i < parent.Chain.Count; i++)
        {
            reads[i + 1] = _budgets.GetAsync(parent.Subject, parent.Agent, parent.Chain[i], cancellationToken).AsTask();
        }

        var snapshots = await Task.WhenAll(reads);

        // The token's own limit is signed into it; the store's may be a guess made when a child opened the account.
        var remaining = (parent.MaxSteps ?? _policy.Budgets.DefaultSteps) - (snapshots[0].StepsUsed ?? 0);
        foreach (var ancestor in snapshots.AsSpan(1))
        {
            if (ancestor.StepsRemaining is { } left && left < remaining)
            {
                remaining = left;
            }
        }

        return Math.Max(remaining, 0);
    }

    private DelegationResult Refuse(CapabilityToken parent, DelegationResult refusal)
    {
        LogRefused(_logger, refusal.Error!, parent.Jti);
        return refusal;
    }

    private static DelegationResult Invalid(string detail) => DelegationResult.Refused(DelegationErrors.InvalidRequest, detail);

    private static bool AnyEntry(bool[,] covered, int row)
    {
        for (var p = 0; p < covered.GetLength(1); p++)
        {
            if (covered[row, p])
            {
                return true;
            }
        }

        return false;
    }

    private static bool SameEntry(bool[,] actions, int action, bool[,] resources, int resource)
    {
        for (var p = 0; p < actions.GetLength(1); p++)
        {
            if (actions[action, p] && resources[resource, p])
            {
                return true;
            }
        }

        return false;
    }

    private delegate bool TryParse<T>(string text, out T? pattern);

    private static Func<string, T> Parse<T>(TryParse<T> parse)
        where T : class =>
        text => parse(text, out var pattern) && pattern is not null ? pattern : throw new InvalidOperationException("Checked by CheckRequest.");

    /// <summary>Requested values are echoed in details; long ones are cut so a refusal stays a sentence.</summary>
    private static string Quote(string? value) => value is null ? "" : value.Length <= 100 ? value : value[..100] + "…";

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Delegated from token {ParentJti}: child {ChildJti}, depth {Depth}, max_steps {MaxSteps}.")]
    private static partial void LogMinted(ILogger logger, string parentJti, string childJti, int depth, int maxSteps);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Information, Message = "Delegation from token {ParentJti} refused: {Error}.")]
    private static partial void LogRefused(ILogger logger, string error, string parentJti);
}
