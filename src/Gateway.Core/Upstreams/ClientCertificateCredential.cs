using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gateway.Policy;
using Gateway.Tokens;
using Microsoft.Extensions.Logging;

namespace Gateway.Upstreams;

/// <summary>
/// <c>auth.client_certificate</c>: mutual TLS. The certificate is offered in the TLS handshake (see
/// <see cref="UpstreamHttpClientFactory"/>), so nothing is added to the request; a call is refused when the
/// certificate cannot be loaded rather than sent without it. New connections use a rotated pair within
/// 2 seconds; connections already open keep theirs until they close.
/// </summary>
internal sealed class ClientCertificateCredential : UpstreamCredential
{
    private readonly SecretFile _certificateFile;
    private readonly SecretFile _keyFile;
    private readonly ILogger _logger;
    private volatile CertificateState _state;

    public ClientCertificateCredential(string upstream, ClientCertificateAuthSettings settings, TimeProvider time, ILogger logger, TimeSpan? pollInterval)
        : base(upstream, settings)
    {
        _logger = logger;
        _certificateFile = new SecretFile(settings.CertFile, upstream, time, logger, pollInterval);
        _keyFile = new SecretFile(settings.KeyFile, upstream, time, logger, pollInterval);
        _state = Load();
        _certificateFile.Changed += () => _state = Load();
        _keyFile.Changed += () => _state = Load();
    }

    /// <summary>The certificate's SHA-256 thumbprint, shortened: public, and what an operator sees in the upstream's logs.</summary>
    public override string Id => _state.Id;

    public override string? Problem => _state.Problem;

    /// <summary>The certificate to offer in new handshakes; null when it cannot be loaded.</summary>
    public X509Certificate2? Certificate => _state.Certificate;

    public override ValueTask<CredentialResult> GetAsync(CapabilityToken? token, CancellationToken cancellationToken) =>
        ValueTask.FromResult(_state.Problem is { } problem
            ? CredentialResult.Unavailable(problem, SecretFile.DefaultPollInterval)
            : CredentialResult.None);

    private CertificateState Load()
    {
        if (_certificateFile.Value is not { } certificatePem)
        {
            return new CertificateState(null, "cert:" + _certificateFile.Name, _certificateFile.Problem);
        }

        if (_keyFile.Value is not { } keyPem)
        {
            return new CertificateState(null, "cert:" + _certificateFile.Name, _keyFile.Problem);
        }

        try
        {
            // A certificate replaced by rotation is left to the collector: a handshake may be using it right now.
            var certificate = X509Certificate2.CreateFromPem(certificatePem, keyPem);
            var thumbprint = Convert.ToHexStringLower(certificate.GetCertHash(HashAlgorithmName.SHA256))[..16];
            return new CertificateState(certificate, "sha256:" + thumbprint, null);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            // The two files are polled apart, so a rotation is seen one file at a time: a new certificate with the
            // old key (or the reverse) for up to one interval. The pair in use stays in use until both agree, and
            // so it does when a rotation writes something that is no certificate at all.
            // (ArgumentException is how CreateFromPem says the key is not the certificate's.)
            var problem = $"'{_certificateFile.Name}' and '{_keyFile.Name}' are not a PEM certificate and its private key";
            if (_state?.Certificate is not null)
            {
                SecretFile.LogUnusable(_logger, Upstream, problem);
                return _state;
            }

            return new CertificateState(null, "cert:" + _certificateFile.Name, problem);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _certificateFile.Dispose();
            _keyFile.Dispose();
        }

        base.Dispose(disposing);
    }

    private sealed record CertificateState(X509Certificate2? Certificate, string Id, string? Problem);
}
