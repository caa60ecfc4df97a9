using Yarp.ReverseProxy.Forwarder;

namespace Gateway.Upstreams;

/// <summary>
/// YARP's client factory, with a client certificate offered on the TLS handshakes of upstreams whose credential is
/// <c>client_certificate</c>. The certificate is looked up at each handshake, so a rotation or a policy reload
/// takes effect on the next new connection without YARP rebuilding the cluster's client.
/// </summary>
internal class UpstreamHttpClientFactory : ForwarderHttpClientFactory
{
    private readonly UpstreamCredentials _credentials;

    public UpstreamHttpClientFactory(UpstreamCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        _credentials = credentials;
    }

    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        var cluster = context.ClusterId;
        handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) =>
            (_credentials.Find(cluster) as ClientCertificateCredential)?.Certificate!;
        if (context.NewMetadata?.GetValueOrDefault(CaFileMetadata) is { } caFile)
        {
            var bundle = new CaBundle(caFile);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) => bundle.Validate(certificate, errors);
        }
    }

    // YARP compares only the HttpClient settings; a reload that changes the CA bundle's path needs a new handler.
    protected override bool CanReuseOldClient(ForwarderHttpClientContext context) =>
        base.CanReuseOldClient(context)
        && string.Equals(context.OldMetadata?.GetValueOrDefault(CaFileMetadata), context.NewMetadata?.GetValueOrDefault(CaFileMetadata), StringComparison.Ordinal);

    /// <summary>The cluster metadata key carrying an upstream's <c>tls.ca_file</c>; a changed path gives the cluster a new client.</summary>
    public const string CaFileMetadata = "Gateway.CaFile";
}
