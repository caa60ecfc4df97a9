using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Budgets;
using Gateway.Enforcement;
using Gateway.Policy;
using Gateway.Revocation;
using Gateway.Tokens;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.PolicyTesting;

/// <summary>
/// Runs policy cases through the gateway's own decision (<see cref="AuthorizationEvaluator"/>: the real
/// route table, token validator, revocation index and budget charger), each case with stores of its own
/// set to the case's state. Nothing leaves the process: no budget, revocation or approval of a running
/// gateway is read or touched.
/// </summary>
public sealed class PolicyTestRunner : IDisposable
{
    /// <summary>A token written as claims lives this long unless the case sets <c>exp</c>.</summary>
    public static readonly TimeSpan DefaultTokenLifetime = TimeSpan.FromMinutes(5);

    private readonly GatewayPolicy _policy;
    private readonly TimeProvider _time;
    private readonly PolicyTestKeys _keys;
    private readonly PolicySnapshot _snapshot;
    private readonly RouteTable _routes;

    /// <param name="policy">The policy under test.</param>
    /// <param name="time">The clock cases run at (relative times in cases are relative to it).</param>
    /// <param name="realKeys">The issuers' real keys, for <c>token_file</c> cases; null when they cannot be loaded.</param>
    /// <param name="loggers">For the validator's own logging.</param>
    public PolicyTestRunner(GatewayPolicy policy, TimeProvider time, ISigningKeyResolver? realKeys, ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(time);
        _policy = policy;
        _time = time;
        _keys = new PolicyTestKeys(policy, realKeys);
        var validator = new CapabilityTokenValidator(policy, _keys, time, (loggers ?? NullLoggerFactory.Instance).CreateLogger<CapabilityTokenValidator>());
        _snapshot = new PolicySnapshot(policy, validator);
        _routes = new RouteTable(_snapshot);
    }

    public async Task<PolicyCaseResult> RunAsync(PolicyCase testCase, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(testCase);
        var started = Stopwatch.GetTimestamp();
        var now = _time.GetUtcNow();
        string? token;
        try
        {
            token = testCase.NoToken ? null
                : testCase.TokenFile is { } file ? (await File.ReadAllTextAsync(file, cancellationToken)).Trim()
                : Sign(testCase.Claims ?? [], now);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
        {
            return PolicyCaseResult.Broken(testCase, $"the token could not be prepared: {ex.Message}", Stopwatch.GetElapsedTime(started));
        }

        var context = CreateContext(testCase.Request, token, cancellationToken);
        var store = new InMemoryBudgetStore(timeProvider: _time);
        var revocations = new RevocationIndex(_time);
        foreach (var request in testCase.State.Revocations)
        {
            if (!RevocationRule.TryCreate(request, _policy.Gateway, now, out var rule, out var problem))
            {
                return PolicyCaseResult.Broken(testCase, $"state.revoked: {problem}", Stopwatch.GetElapsedTime(started));
            }

            revocations.Add(rule);
        }

        if (token is not null && (testCase.State.StepsUsed > 0 || testCase.State.RiskUsed > 0))
        {
            var validated = await _snapshot.Tokens.ValidateAsync(token, cancellationToken);
            if (validated.Token is { } capability)
            {
                await SpendAsync(store, capability, testCase.State, cancellationToken);
            }
        }

        var charger = new BudgetCharger(store, store, NullLogger<BudgetCharger>.Instance);
        var evaluator = new AuthorizationEvaluator(_time, charger, revocations);
        var request2 = context.Request;
        var guard = RequestPathGuard.CheckPath(request2.Path.Value);
        var values = new RouteValueDictionary();
        var route = guard is null ? _routes.Match(request2.Method, request2.Path.Value!, values) : null;
        request2.RouteValues = values;
        var decision = route?.Mcp is not null
            ? await Mcp.McpMessageDecider.EvaluateOfflineAsync(evaluator, context, route, cancellationToken)
            : await evaluator.EvaluateAsync(context, route);
        if (guard is not null)
        {
            decision.Refuse(GatewayError.InvalidRequest, guard, "path");
        }

        return PolicyCaseResult.From(testCase, decision, ProblemResponseWriter.Challenge(decision), Stopwatch.GetElapsedTime(started));
    }

    public void Dispose() => _keys.Dispose();

    /// <summary>The case's claims, with what a token always carries filled in, signed with the run's key for its issuer.</summary>
    internal string Sign(JsonObject claims, DateTimeOffset now)
    {
        var payload = (JsonObject)claims.DeepClone();
        var issuerName = payload["iss"]?.GetValue<string>();
        var issuer = issuerName is null ? (_policy.Issuers.Count > 0 ? _policy.Issuers[0] : null) : _policy.Issuers.FirstOrDefault(i => i.Issuer == issuerName);
        if (issuerName is null && issuer is not null)
        {
            payload["iss"] = issuer.Issuer;
        }

        payload["aud"] ??= _policy.Gateway.Audience;
        ResolveTime(payload, "iat", now, now);
        var issuedAt = DateTimeOffset.FromUnixTimeSeconds(payload["iat"]!.GetValue<long>());
        ResolveTime(payload, "exp", now, issuedAt + DefaultTokenLifetime);
        ResolveTime(payload, "nbf", now, null);
        ResolveTime(payload, "auth_time", now, null);
        payload["jti"] ??= TokenMinter.NewJti();

        var key = _keys.For(issuer);
        var header = new JsonObject
        {
            ["alg"] = key.Algorithm,
            ["kid"] = key.KeyId,
            ["typ"] = issuer is { Types.Count: > 0 } ? issuer.Types[0] : TokenMinter.TokenType,
        };
        return JwsWriter.Sign(Encoding.UTF8.GetBytes(header.ToJsonString()), Encoding.UTF8.GetBytes(payload.ToJsonString()), key.SecurityKey, key.Algorithm);
    }

    private static void ResolveTime(JsonObject payload, string claim, DateTimeOffset now, DateTimeOffset? fallback)
    {
        var value = payload[claim];
        if (value is null)
        {
            if (fallback is { } time)
            {
                payload[claim] = time.ToUnixTimeSeconds();
            }

            return;
        }

        if (value.GetValueKind() == JsonValueKind.String)
        {
            var text = value.GetValue<string>();
            payload[claim] = (PolicyCaseLoader.ReadTime(text, now)
                ?? throw new FormatException($"'{claim}: {text}' is neither a NumericDate, an RFC 3339 time nor a duration relative to now (-5m, +1h)")).ToUnixTimeSeconds();
        }
    }

    private async Task SpendAsync(InMemoryBudgetStore store, CapabilityToken token, PolicyCaseState state, CancellationToken cancellationToken)
    {
        var budgets = _policy.Budgets;
        var charge = new BudgetCharge
        {
            Subject = token.Subject,
            Agent = token.Agent,
            Jti = token.Jti,
            MaxSteps = token.MaxSteps ?? budgets.DefaultSteps,
            TokenExpires = token.Expires,
            Risk = 0,
            RiskLimit = budgets.RiskLimit,
            RiskWindow = budgets.RiskWindow,
            DefaultSteps = budgets.DefaultSteps,
        };
        for (var i = 0; i < state.StepsUsed; i++)
        {
            await store.ChargeAsync(charge, cancellationToken);
        }

        if (state.RiskUsed > 0)
        {
            // Spent by another token of the same (sub, agent): risk is counted per user and agent, steps per token.
            await store.ChargeAsync(
                charge with { Jti = "gateway-test-earlier-calls", MaxSteps = int.MaxValue, Risk = state.RiskUsed, BypassRiskLimit = true },
                cancellationToken);
        }
    }

    private static DefaultHttpContext CreateContext(PolicyCaseRequest spec, string? token, CancellationToken cancellationToken)
    {
        var context = new DefaultHttpContext { RequestAborted = cancellationToken };
        var request = context.Request;
        request.Method = spec.Method;
        var query = spec.Path.IndexOf('?', StringComparison.Ordinal);
        request.Path = query < 0 ? spec.Path : spec.Path[..query];
        request.QueryString = query < 0 ? QueryString.Empty : new QueryString(spec.Path[query..]);
        request.Scheme = "http";
        request.Host = new HostString("gateway.test");
        foreach (var (name, value) in spec.Headers)
        {
            request.Headers.Append(name, value);
        }

        if (token is not null && !request.Headers.ContainsKey("Authorization"))
        {
            request.Headers.Authorization = "Bearer " + token;
        }

        if (spec.Body is { } body)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            request.Body = new MemoryStream(bytes);
            request.ContentLength = bytes.Length;
        }

        return context;
    }
}

/// <summary>What one case decided, and whether that is what it expected.</summary>
public sealed record PolicyCaseResult
{
    public required PolicyCase Case { get; init; }
    public required bool Passed { get; init; }

    /// <summary>The decision as <c>allow</c>, <c>deny CODE (reason)</c>...; or why the case could not run.</summary>
    public required string Decided { get; init; }

    /// <summary>The decision's detail text (what the agent's problem+json would say).</summary>
    public string? Detail { get; init; }

    public string? Challenge { get; init; }
    public string? Route { get; init; }
    public TimeSpan Duration { get; init; }

    /// <summary>The line a person reads: <c>FILE:LINE:COL: FAIL name: expected X, decided Y</c>.</summary>
    public string Describe() =>
        Passed
            ? $"{Case.Location}: ok   {Case.Name}"
            : $"{Case.Location}: FAIL {Case.Name}: expected {Case.Expect}, decided {Decided}"
                + (Route is null ? "" : $" on route {Route}")
                + (Detail is null ? "" : $": {Detail}")
                + (Challenge is null || Case.Expect.Challenge is null ? "" : $" (challenge: {Challenge})");

    internal static PolicyCaseResult Broken(PolicyCase testCase, string problem, TimeSpan duration) =>
        new() { Case = testCase, Passed = false, Decided = "nothing", Detail = problem, Duration = duration };

    internal static PolicyCaseResult From(PolicyCase testCase, AuthorizationDecision decision, string? challenge, TimeSpan duration)
    {
        var expect = testCase.Expect;
        var code = decision.ErrorCode is { Length: > 0 } error ? error : null;
        var passed = decision.Outcome == expect.Decision
            && (expect.Error is null || expect.Error == code)
            && (expect.Reason is null || expect.Reason == decision.Reason)
            && (expect.Challenge is null || (challenge?.Contains(expect.Challenge, StringComparison.Ordinal) ?? false));
        return new PolicyCaseResult
        {
            Case = testCase,
            Passed = passed,
            Decided = code is null ? decision.Outcome : $"{decision.Outcome} {code}" + (decision.Reason is null ? "" : $" ({decision.Reason})"),
            Detail = decision.Detail,
            Challenge = challenge,
            Route = decision.Route?.Id,
            Duration = duration,
        };
    }
}
