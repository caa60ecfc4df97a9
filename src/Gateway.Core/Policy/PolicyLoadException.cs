namespace Gateway.Policy;

/// <summary>Thrown when a policy that must load (the first one at startup) does not; the message lists every error.</summary>
public sealed class PolicyLoadException : Exception
{
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

    public PolicyLoadException(IReadOnlyList<PolicyError> errors)
        : base(FormatMessage(errors))
    {
        Errors = errors;
    }

    public IReadOnlyList<PolicyError> Errors { get; }

    private static string FormatMessage(IReadOnlyList<PolicyError> errors) =>
        $"The gateway policy is invalid ({errors.Count} error{(errors.Count == 1 ? "" : "s")}):{Environment.NewLine}{string.Join(Environment.NewLine, errors)}";
}
