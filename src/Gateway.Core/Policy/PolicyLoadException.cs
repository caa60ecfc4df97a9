namespace Gateway.Policy;

/// <summary>Thrown when the first load of a policy fails: the gateway must not start on a broken policy.</summary>
public sealed class PolicyLoadException : Exception
{
    public PolicyLoadException(IReadOnlyList<PolicyError> errors)
        : base(Format(errors))
    {
        Errors = errors;
    }

    public PolicyLoadException()
        : this([])
    {
    }

    public PolicyLoadException(string message)
        : base(message)
    {
        Errors = [];
    }

    public PolicyLoadException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    public IReadOnlyList<PolicyError> Errors { get; }

    private static string Format(IReadOnlyList<PolicyError> errors) =>
        errors.Count == 0
            ? "The policy could not be loaded."
            : $"The policy has {errors.Count} error(s):{Environment.NewLine}{string.Join(Environment.NewLine, errors)}";
}
