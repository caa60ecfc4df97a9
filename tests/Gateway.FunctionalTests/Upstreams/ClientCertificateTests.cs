using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gateway.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.FunctionalTests.Upstreams;

/// <summary>
/// <c>auth.client_certificate</c> (mutual TLS) against a real TLS upstream on loopback that requires a client
/// certificate, its server certificate issued by a test CA the policy trusts through <c>tls.ca_file</c>.
/// </summary>
public sealed class ClientCertificateTests : IDisposable
{
    private readonly string _secrets = Directory.CreateTempSubdirectory("gateway-secrets-").FullName;
    private readonly X509Certificate2 _ca = Authority("Gateway Test CA");

    [Fact]
    public async Task AllowedCall_PresentsTheClientCertificate_ToAnUpstreamTrustedThroughCaFile()
    {
        using var client = Issue(_ca, "gateway-client", server: false);
        await using var upstream = await TlsUpstream.StartAsync(Issue(_ca, "127.0.0.1", server: true));
        using var issuer = new TestIssuer();
        await using var gateway = await StartAsync(issuer, upstream, client);

        using var response = await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/42", issuer.Mint());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(upstream.Calls);
        Assert.Equal(Thumbprint(client), seen.ClientCertificate);
        Assert.False(seen.HadAuthorization);
    }

    [Fact]
    public async Task UpstreamCertificateNotFromTheCaFile_FailsTheHandshake_AndNoRequestArrives()
    {
        using var client = Issue(_ca, "gateway-client", server: false);
        using var otherCa = Authority("Another CA");
        await using var upstream = await TlsUpstream.StartAsync(Issue(otherCa, "127.0.0.1", server: true));
        using var issuer = new TestIssuer();
        await using var gateway = await StartAsync(issuer, upstream, client);

        using var response = await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/42", issuer.Mint());

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Empty(upstream.Calls);
    }

    [Fact]
    public async Task RotatedPair_IsUsedByNewConnectionsWithinTwoSeconds()
    {
        using var first = Issue(_ca, "gateway-client", server: false);
        using var second = Issue(_ca, "gateway-client-rotated", server: false);
        await using var upstream = await TlsUpstream.StartAsync(Issue(_ca, "127.0.0.1", server: true));
        using var issuer = new TestIssuer();
        await using var gateway = await StartAsync(issuer, upstream, first);
        var token = issuer.Mint();
        (await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/42", token)).Dispose();

        WritePair(second);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(2.5);
        string? presented;
        do
        {
            await Task.Delay(200);
            using var response = await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/42", token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            presented = upstream.Calls.Last().ClientCertificate;
        }
        while (presented != Thumbprint(second) && DateTime.UtcNow < deadline);

        Assert.Equal(Thumbprint(first), upstream.Calls.First().ClientCertificate);
        Assert.Equal(Thumbprint(second), presented);
    }

    [Fact]
    public async Task KeyFileMissing_Gets503_AndIsNotForwarded()
    {
        using var client = Issue(_ca, "gateway-client", server: false);
        await using var upstream = await TlsUpstream.StartAsync(Issue(_ca, "127.0.0.1", server: true));
        using var issuer = new TestIssuer();
        await using var gateway = await StartAsync(issuer, upstream, client, writeKey: false);

        using var response = await HeaderCredentialTests.SendAsync(gateway, "/crm/customers/42", issuer.Mint());

        await ProblemAssert.IsProblemAsync(response, 503, "upstream_credentials_unavailable");
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Empty(upstream.Calls);
    }

    public void Dispose()
    {
        _ca.Dispose();
        Directory.Delete(_secrets, recursive: true);
    }

    private async Task<TestGateway> StartAsync(TestIssuer issuer, TlsUpstream upstream, X509Certificate2 client, bool writeKey = true)
    {
        var caFile = Path.Combine(_secrets, "ca.pem");
        await File.WriteAllTextAsync(caFile, _ca.ExportCertificatePem());
        WritePair(client, writeKey);
        await using var unused = await UpstreamServer.StartAsync();
        var policy = CredentialPolicies.With($"{{ client_certificate: {{ cert_file: \"{CertFile}\", key_file: \"{KeyFile}\" }} }}")
            .Replace("    destinations: [ {{UPSTREAM}} ]\n    auth:", $"    destinations: [ {upstream.Address} ]\n    tls: {{ ca_file: \"{caFile}\" }}\n    auth:", StringComparison.Ordinal);
        Assert.Contains("ca_file", policy, StringComparison.Ordinal);
        return await TestGateway.StartAsync(issuer, unused, policy);
    }

    private string CertFile => Path.Combine(_secrets, "tls.crt");

    private string KeyFile => Path.Combine(_secrets, "tls.key");

    private void WritePair(X509Certificate2 certificate, bool writeKey = true)
    {
        // The key first: the gateway polls both files, and a new certificate with the old key does not load.
        if (writeKey)
        {
            File.WriteAllText(KeyFile, certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        }

        File.WriteAllText(CertFile, certificate.ExportCertificatePem());
    }

    private static string Thumbprint(X509Certificate2 certificate) => certificate.GetCertHashString(HashAlgorithmName.SHA256);

    private static X509Certificate2 Authority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static X509Certificate2 Issue(X509Certificate2 authority, string name, bool server)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], critical: false));
        if (server)
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
        }

        using var issued = request.Create(authority, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(12), RandomNumberGenerator.GetBytes(12));
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>An https upstream that requires a client certificate and closes each connection after one answer, so every call is a new handshake.</summary>
    private sealed class TlsUpstream : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly X509Certificate2 _certificate;

        private TlsUpstream(WebApplication app, X509Certificate2 certificate, Uri address)
        {
            _app = app;
            _certificate = certificate;
            Address = address;
        }

        public Uri Address { get; }

        public ConcurrentQueue<(string? ClientCertificate, bool HadAuthorization)> Calls { get; } = new();

        public static async Task<TlsUpstream> StartAsync(X509Certificate2 certificate)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            // HTTP/1.1 only, where Connection: close ends the connection (an HTTP/2 one would carry every call).
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(https =>
            {
                https.ServerCertificate = certificate;
                https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                // Which certificate arrived is what the tests check; trusting it is not this server's question.
                https.ClientCertificateValidation = (_, _, _) => true;
            }).Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1));
            var app = builder.Build();
            TlsUpstream? upstream = null;
            app.Run(async context =>
            {
                var presented = context.Connection.ClientCertificate?.GetCertHashString(HashAlgorithmName.SHA256);
                upstream!.Calls.Enqueue((presented, context.Request.Headers.ContainsKey("Authorization")));
                context.Response.Headers.Connection = "close";
                await context.Response.WriteAsync("{}");
            });
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            upstream = new TlsUpstream(app, certificate, new Uri(address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal)));
            return upstream;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.DisposeAsync();
            _certificate.Dispose();
        }
    }
}
