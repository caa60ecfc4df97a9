using Gateway.Policy;
using Gateway.Tokens;

namespace Gateway.Upstreams;

/// <summary>
/// The credential the gateway presents to one upstream on allowed calls. Implementations keep what they can
/// in memory (a file's current value, a cached token), so that a call whose credential is at hand costs no I/O.
/// </summary>
public abstract class UpstreamCredential : IDisposable
{
    protected UpstreamCredential(string upstream, UpstreamAuthSettings settings)
    {
        ArgumentException.ThrowIfNullOrEmpty(upstream);
        ArgumentNullException.ThrowIfNull(settings);
        Upstream = upstream;
        Settings = settings;
    }

    public string Upstream { get; }
    public UpstreamAuthSettings Settings { get; }

    /// <summary>The policy word: <c>header</c>, <c>oauth2_client_credentials</c>, <c>token_exchange</c> or <c>client_certificate</c>.</summary>
    public string Kind => Settings.Kind;

    /// <summary>
    /// What names the credential without giving it away, for audit events, spans and logs: a client id, a file
    /// name, an environment variable's name or a certificate's thumbprint; never a value or a digest of one.
    /// </summary>
    public abstract string Id { get; }

    /// <summary>Why the credential cannot be loaded now (a missing or unreadable file), for <c>/readyz</c>; null when it can.</summary>
    public abstract string? Problem { get; }

    /// <summary>The credential for one allowed call of <paramref name="token"/>'s user and agent.</summary>
    public abstract ValueTask<CredentialResult> GetAsync(CapabilityToken? token, CancellationToken cancellationToken);

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }
}

/// <summary>
/// What a call gets: a header to set on the forwarded request, nothing to set (the credential is the TLS client
/// certificate), or the reason it cannot be had and when to try again.
/// </summary>
public readonly record struct CredentialResult(string? HeaderName, string? HeaderValue, string? Failure, TimeSpan RetryAfter)
{
    public bool IsAvailable => Failure is null;

    public static CredentialResult Header(string name, string value) => new(name, value, null, TimeSpan.Zero);

    public static CredentialResult None { get; } = new(null, null, null, TimeSpan.Zero);

    /// <param name="reason">Plain words for the problem's detail and the log; never a secret, never a server's free text.</param>
    /// <param name="retryAfter">When the credential may be had again.</param>
    public static CredentialResult Unavailable(string reason, TimeSpan retryAfter) => new(null, null, reason, retryAfter);
}
