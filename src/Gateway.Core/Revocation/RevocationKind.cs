namespace Gateway.Revocation;

/// <summary>What a <see cref="RevocationRule"/> names: one token, an agent, a human, or an agent runtime.</summary>
public enum RevocationKind
{
    /// <summary>One token by its <c>jti</c>; also cuts off every token whose <c>cap.chain</c> lists it.</summary>
    Jti,

    /// <summary>An agent: matches the calling agent and every earlier hop of <c>act</c>.</summary>
    Agent,

    /// <summary>The human, <c>sub</c>.</summary>
    Subject,

    /// <summary>The agent runtime's OAuth client, <c>client_id</c>.</summary>
    ClientId,
}

/// <summary>The JSON spellings of <see cref="RevocationKind"/>: the claim names, as <c>POST /revocations</c> takes them.</summary>
public static class RevocationKinds
{
    public const string Jti = "jti";
    public const string Agent = "agent";
    public const string Subject = "sub";
    public const string ClientId = "client_id";

    /// <summary>Every spelling, in <see cref="RevocationKind"/> order.</summary>
    public static IReadOnlyList<string> All { get; } = [Jti, Agent, Subject, ClientId];

    public static string ToName(RevocationKind kind) => kind switch
    {
        RevocationKind.Jti => Jti,
        RevocationKind.Agent => Agent,
        RevocationKind.Subject => Subject,
        RevocationKind.ClientId => ClientId,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown revocation kind."),
    };

    /// <summary>Exact and case-sensitive, like claim names.</summary>
    public static bool TryParse(string? name, out RevocationKind kind)
    {
        switch (name)
        {
            case Jti:
                kind = RevocationKind.Jti;
                return true;
            case Agent:
                kind = RevocationKind.Agent;
                return true;
            case Subject:
                kind = RevocationKind.Subject;
                return true;
            case ClientId:
                kind = RevocationKind.ClientId;
                return true;
            default:
                kind = default;
                return false;
        }
    }
}
