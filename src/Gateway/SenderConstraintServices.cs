using Gateway.Dpop;
using Gateway.Enforcement;
using Gateway.Policy;
using Gateway.Redis.Dpop;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using StackExchange.Redis;

namespace Gateway.Host;

/// <summary>Composition of check 4: the DPoP replay store, the nonce key, and TLS client certificates for RFC 8705.</summary>
internal static class SenderConstraintServices
{
    /// <summary>Configuration key (env <c>Gateway__Dpop__NonceKey</c>) of the DPoP nonce key: base64 of at least 32 random bytes, shared by all replicas.</summary>
    public const string NonceKeySetting = "Gateway:Dpop:NonceKey";

    /// <summary>
    /// The replay store follows the budget store's choice (<see cref="StoreSettings"/>): Redis when the gateway runs as
    /// several replicas, so a proof accepted by one is refused by all the others.
    /// </summary>
    public static IServiceCollection AddSenderConstraints(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IDpopReplayStore>(sp => sp.GetRequiredService<StoreSettings>().Kind == StoreKind.Redis
            ? new RedisDpopReplayStore(sp.GetRequiredService<IConnectionMultiplexer>(), logger: sp.GetRequiredService<ILogger<RedisDpopReplayStore>>())
            : new InMemoryDpopReplayStore(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp =>
        {
            var time = sp.GetRequiredService<TimeProvider>();
            var key = configuration[NonceKeySetting];

            // Without a configured key each replica makes its own: nonces then work per replica, and a client that
            // lands on another one is asked once more for a nonce (use_dpop_nonce), which it handles anyway.
            var nonces = string.IsNullOrWhiteSpace(key) ? DpopNonces.WithRandomKey(time) : DpopNonces.FromConfiguredKey(key, time);
            return new SenderConstraintCheck(
                sp.GetRequiredService<IDpopReplayStore>(),
                new InMemoryDpopReplayStore(time),
                nonces,
                time,
                sp.GetRequiredService<ILogger<SenderConstraintCheck>>());
        });
        return services;
    }

    /// <summary>
    /// When Kestrel terminates TLS and asks for client certificates (<c>ClientCertificateMode</c> in ASP.NET's
    /// <c>Kestrel</c> configuration), any certificate is accepted at the handshake: RFC 8705 binds a token to the
    /// certificate's hash, so a self-signed one is as good as a CA-issued one, and a certificate alone grants
    /// nothing here. Chain and expiry are not what proves possession; the token's <c>cnf.x5t#S256</c> is.
    /// </summary>
    public static void AcceptClientCertificatesForBinding(KestrelServerOptions kestrel) =>
        kestrel.ConfigureHttpsDefaults(https => https.ClientCertificateValidation ??= static (_, _, _) => true);
}
