using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Gateway.Policy;
using Gateway.Tokens;

namespace Gateway.Revocation;

/// <summary>
/// One revocation: every token whose <see cref="Kind"/> claim equals <see cref="Value"/> (and, with
/// <see cref="IssuedBefore"/>, whose <c>iat</c> is earlier) is refused with 401 <c>invalid_token</c>,
/// reason <c>revoked</c>. Immutable; replicas hold copies, so nothing here may change after creation.
/// </summary>
public sealed record RevocationRule
{
    /// <summary>Longest <see cref="Reason"/>, in characters: enough for a sentence and a ticket number, not a report.</summary>
    public const int MaxReasonLength = 500;

    /// <summary>Longest <see cref="Id"/>. Ids are made by <see cref="NewId"/>; a stored rule with a longer one is rejected.</summary>
    public const int MaxIdLength = 64;

    public required string Id { get; init; }

    public required RevocationKind Kind { get; init; }

    /// <summary>The claim value, compared ordinally, as the token carries it.</summary>
    public required string Value { get; init; }

    /// <summary>Only tokens with <c>iat</c> strictly earlier match; null matches every token of <see cref="Value"/>.</summary>
    public DateTimeOffset? IssuedBefore { get; init; }

    public required string Reason { get; init; }

    /// <summary>When the rule was made, by the clock of the replica that made it; propagation lag is measured from here.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>After this, no token the rule could match can still be accepted, so it is dropped (see <see cref="ComputeExpiry"/>).</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>Whether a token issued at <paramref name="issuedAt"/> falls under the cut-off (always, without one).</summary>
    public bool CoversIssuedAt(DateTimeOffset issuedAt) => IssuedBefore is not { } cutOff || issuedAt < cutOff;

    public bool IsExpired(DateTimeOffset now) => now >= ExpiresAt;

    /// <summary>
    /// Whether this rule cuts <paramref name="token"/> off, as <see cref="RevocationIndex.Match"/> decides it (expiry
    /// aside): its <c>jti</c> or a <c>cap.chain</c> ancestor, any agent of <c>act</c>, its <c>sub</c> or its
    /// <c>client_id</c>, within the <see cref="IssuedBefore"/> cut-off.
    /// </summary>
    public bool Matches(CapabilityToken token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (!CoversIssuedAt(token.IssuedAt))
        {
            return false;
        }

        return Kind switch
        {
            RevocationKind.Jti => string.Equals(token.Jti, Value, StringComparison.Ordinal) || Contains(token.Chain, Value),
            RevocationKind.Agent => Contains(token.Actors, Value),
            RevocationKind.Subject => string.Equals(token.Subject, Value, StringComparison.Ordinal),
            RevocationKind.ClientId => string.Equals(token.ClientId, Value, StringComparison.Ordinal),
            _ => false,
        };

        static bool Contains(IReadOnlyList<string> values, string value)
        {
            for (var i = 0; i < values.Count; i++)
            {
                if (string.Equals(values[i], value, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// When a rule stops mattering. A token is accepted while <c>iat ≤ now + skew</c> and
    /// <c>now &lt; exp + skew</c>, with <c>exp - iat ≤ max_token_lifetime</c>. So a token issued before
    /// <c>T</c> is refused by the validator itself from <c>T + lifetime + skew</c> on. Without a cut-off the rule
    /// must outlive every token that existed when it was made, whose <c>iat</c> can be up to <c>created + skew</c>
    /// (an issuer clock running ahead), hence <c>created + skew</c> stands in for <c>T</c>.
    /// </summary>
    public static DateTimeOffset ComputeExpiry(DateTimeOffset createdAt, DateTimeOffset? issuedBefore, TimeSpan maxTokenLifetime, TimeSpan clockSkew) =>
        (issuedBefore ?? createdAt + clockSkew) + maxTokenLifetime + clockSkew;

    /// <summary>128 random bits, base64url, prefixed so the id reads as a revocation in logs and audit events.</summary>
    public static string NewId() => "rev_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));

    /// <summary>Ids travel in Redis key names and logs: letters, digits, <c>_</c> and <c>-</c> only.</summary>
    public static bool IsValidId(string? id)
    {
        if (id is not { Length: > 0 and <= MaxIdLength })
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Checks <paramref name="request"/> and makes the rule, created at <paramref name="now"/>, with its expiry
    /// from the policy's <c>max_token_lifetime</c> and <c>clock_skew</c>. <paramref name="problem"/> is a sentence
    /// for the 400 answer; it names the field, never echoes a long value.
    /// </summary>
    public static bool TryCreate(
        RevocationRequest request,
        GatewaySettings settings,
        DateTimeOffset now,
        [NotNullWhen(true)] out RevocationRule? rule,
        [NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(settings);
        rule = null;
        problem = CheckValue(request) ?? CheckReason(request.Reason) ?? CheckCutOff(request.IssuedBefore, settings, now);
        if (problem is not null)
        {
            return false;
        }

        rule = new RevocationRule
        {
            Id = NewId(),
            Kind = request.Kind,
            Value = request.Value,
            IssuedBefore = request.IssuedBefore,
            Reason = request.Reason.Trim(),
            CreatedAt = now,
            ExpiresAt = ComputeExpiry(now, request.IssuedBefore, settings.MaxTokenLifetime, settings.ClockSkew),
        };
        return true;
    }

    private static string? CheckValue(RevocationRequest request)
    {
        var name = RevocationKinds.ToName(request.Kind);
        var value = request.Value;
        if (string.IsNullOrWhiteSpace(value))
        {
            return $"'{name}' must not be empty.";
        }

        // The token reader refuses longer identifiers, so a longer value could never match anything.
        if (value.Length > CapabilityTokenReader.MaxIdentifierLength)
        {
            return $"'{name}' is longer than {CapabilityTokenReader.MaxIdentifierLength} characters, so no accepted token can carry it.";
        }

        // Compared exactly: " agent:x" would revoke nothing while looking right in GET /revocations.
        if (value.Length != value.AsSpan().Trim().Length)
        {
            return $"'{name}' starts or ends with white space; claim values are compared exactly, so it would match nothing.";
        }

        return ContainsControl(value) ? $"'{name}' contains control characters." : null;
    }

    private static string? CheckReason(string? reason)
    {
        var trimmed = reason.AsSpan().Trim();
        if (trimmed.IsEmpty)
        {
            return "'reason' must say why, for whoever reads GET /revocations or the audit trail later.";
        }

        if (trimmed.Length > MaxReasonLength)
        {
            return $"'reason' is longer than {MaxReasonLength} characters; put a ticket or case number in it instead of the report.";
        }

        // Reasons end up in logs and terminals; a control character could forge or hide lines there.
        return ContainsControl(trimmed) ? "'reason' contains control characters (line breaks included)." : null;
    }

    private static string? CheckCutOff(DateTimeOffset? issuedBefore, GatewaySettings settings, DateTimeOffset now)
    {
        if (issuedBefore is not { } cutOff)
        {
            return null;
        }

        // A cut-off in the future would also refuse tokens not issued yet, which is a different, open-ended
        // rule with a surprising end; the skew allows for the analyst's clock being a little ahead.
        if (cutOff > now + settings.ClockSkew)
        {
            return "'issued_before' is in the future; to cut off every token of this value, including any issued in the next max_token_lifetime, leave issued_before out.";
        }

        if (ComputeExpiry(now, cutOff, settings.MaxTokenLifetime, settings.ClockSkew) <= now)
        {
            return $"'issued_before' is so far in the past that every token issued before it has already expired (max_token_lifetime is {settings.MaxTokenLifetime}); nothing would be revoked.";
        }

        return null;
    }

    private static bool ContainsControl(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (char.IsControl(c))
            {
                return true;
            }
        }

        return false;
    }
}
