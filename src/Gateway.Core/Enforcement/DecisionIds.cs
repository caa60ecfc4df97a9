namespace Gateway.Enforcement;

/// <summary>Decision ids: time-ordered (UUID v7) so audit exports sort naturally, 32 hex characters.</summary>
internal static class DecisionIds
{
    public static string Next() => Guid.CreateVersion7().ToString("N");
}
