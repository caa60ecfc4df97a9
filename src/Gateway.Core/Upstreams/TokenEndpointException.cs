namespace Gateway.Upstreams;

/// <summary>A token could not be had from a token endpoint. The message is the gateway's own words, safe for problems and logs.</summary>
public sealed class TokenEndpointException : Exception
{
    public TokenEndpointException()
    {
    }

    public TokenEndpointException(string message)
        : base(message)
    {
    }

    public TokenEndpointException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Worth another try soon: the endpoint could not be reached, timed out or answered 429 or 5xx.</summary>
    public bool IsTransient { get; init; }
}
