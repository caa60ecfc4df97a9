using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gateway.Upstreams;

/// <summary>
/// An upstream's <c>tls.ca_file</c>: the CA certificates that alone are trusted for its server certificate. Read
/// again when the file changes (checked at each TLS handshake, never per request), so a rotated CA bundle is used
/// by the next new connection.
/// </summary>
public sealed class CaBundle
{
    private readonly string _path;
    private readonly Lock _lock = new();
    private (DateTime Written, X509Certificate2Collection? Certificates) _loaded;

    public CaBundle(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = path;
    }

    /// <summary>Reads a PEM bundle; false with a sentence when it cannot be read or holds no certificate.</summary>
    public static bool TryRead(string path, out X509Certificate2Collection certificates, out string problem)
    {
        certificates = [];
        try
        {
            certificates.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = File.Exists(path) ? "cannot be read" : "does not exist";
            return false;
        }
        catch (CryptographicException)
        {
            problem = "is not a PEM bundle of certificates";
            return false;
        }

        problem = certificates.Count == 0 ? "holds no PEM certificate (-----BEGIN CERTIFICATE-----)" : "";
        return certificates.Count > 0;
    }

    /// <summary>
    /// The handshake's verdict: the name must match and the chain must end at one of the bundle's certificates.
    /// The system store plays no part, so a certificate a public CA issued for the same name is refused.
    /// </summary>
    public bool Validate(X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
        {
            return false;
        }

        if (Current() is not { } roots)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        // An internal CA rarely publishes revocation lists the gateway could reach; rotation is its revocation.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }

    private X509Certificate2Collection? Current()
    {
        DateTime written;
        try
        {
            written = File.GetLastWriteTimeUtc(_path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        lock (_lock)
        {
            if (_loaded.Certificates is null || _loaded.Written != written)
            {
                // A bundle that cannot be read now trusts nothing: the handshake fails and the call gets a 502.
                _loaded = (written, TryRead(_path, out var certificates, out _) ? certificates : null);
            }

            return _loaded.Certificates;
        }
    }
}
