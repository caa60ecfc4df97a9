using System.Diagnostics.CodeAnalysis;

namespace Gateway.Policy;

/// <summary>The outcome of loading a policy: the policy, or every error found, never both.</summary>
public sealed class PolicyLoadResult
{
    internal PolicyLoadResult(GatewayPolicy? policy, IReadOnlyList<PolicyError> errors)
    {
        Policy = errors.Count == 0 ? policy : null;
        Errors = errors;
    }

    /// <summary>The loaded policy; null whenever <see cref="Errors"/> is not empty.</summary>
    public GatewayPolicy? Policy { get; }

    /// <summary>Every problem found, ordered by file, line and column.</summary>
    public IReadOnlyList<PolicyError> Errors { get; }

    [MemberNotNullWhen(true, nameof(Policy))]
    public bool Succeeded => Policy is not null;

    /// <summary>The policy, or a <see cref="PolicyLoadException"/> carrying every error (for a first load, which has nothing to fall back to).</summary>
    public GatewayPolicy GetPolicyOrThrow() => Policy ?? throw new PolicyLoadException(Errors);
}
