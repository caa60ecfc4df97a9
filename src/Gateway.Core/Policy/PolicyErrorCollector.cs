namespace Gateway.Policy;

/// <summary>Collects every problem of a load, so one run shows the user all of them rather than the first.</summary>
internal sealed class PolicyErrorCollector
{
    private readonly List<PolicyError> _errors = [];

    public int Count => _errors.Count;

    public void Add(SourceLocation location, string message) => _errors.Add(new PolicyError(location, message));

    /// <summary>In file, line, column order, the order an editor's problem list shows them.</summary>
    public IReadOnlyList<PolicyError> ToSortedList() =>
        [.. _errors
            .Select((error, index) => (error, index))
            .OrderBy(e => e.error.Location.File, StringComparer.Ordinal)
            .ThenBy(e => e.error.Location.Line)
            .ThenBy(e => e.error.Location.Column)
            .ThenBy(e => e.index)
            .Select(e => e.error)];
}
