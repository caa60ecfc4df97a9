using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>
/// A real OAuth 2.0 authorization server on loopback: OpenIddict's server in degraded mode (no database; the one
/// client and the trust in the gateway's assertion key are configured here), issuing client-credentials tokens
/// and RFC 8693 token-exchange tokens as plain signed JWTs, so tests can read what the upstream was given.
/// </summary>
public sealed class TestAuthorizationServer : IAsyncDisposable
{
    public const string ClientId = "gateway-client";

    /// <summary>The one scope the server knows.</summary>
    public const string Scope = "crm.read";
    /// <summary>The one audience the server issues exchanged tokens for.</summary>
    public const string Audience = "https://api.crm.test";
    public const string JwtTokenType = "urn:ietf:params:oauth:token-type:jwt";

    private readonly WebApplication _app;
    private int _tokenRequests;

    private TestAuthorizationServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
        TokenUrl = new Uri(address, "/connect/token");
    }

    public Uri Address { get; }
    public Uri TokenUrl { get; }

    /// <summary>Secrets the server accepts for <see cref="ClientId"/>.</summary>
    public ConcurrentDictionary<string, bool> Secrets { get; } = new(StringComparer.Ordinal);

    /// <summary>Token requests received (every grant, accepted or not).</summary>
    public int TokenRequests => Volatile.Read(ref _tokenRequests);

    /// <summary>While true, every connection to the token endpoint is reset before an answer: the server is down.</summary>
    public bool Down { get; set; }

    /// <summary>The (sub, act.sub) of every token exchange the server granted, in order.</summary>
    public ConcurrentQueue<(string Subject, string Actor)> Exchanges { get; } = new();

    /// <param name="secret">The client secret accepted at first.</param>
    /// <param name="tokenLifetime">Lifetime of access tokens (the <c>expires_in</c> the gateway sees).</param>
    /// <param name="assertionIssuer">For token exchange: the gateway's issuer, whose signed assertions are trusted as subject tokens.</param>
    public static async Task<TestAuthorizationServer> StartAsync(string secret, TimeSpan? tokenLifetime = null, TestIssuer? assertionIssuer = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        TestAuthorizationServer? server = null;
        var assertionKey = assertionIssuer is null ? null : new ECDsaSecurityKey(assertionIssuer.PublicKey()) { KeyId = assertionIssuer.Kid };
        builder.Services.AddOpenIddict().AddServer(options =>
        {
            options.SetTokenEndpointUris("connect/token");
            options.AllowClientCredentialsFlow();
            options.AllowTokenExchangeFlow();
            options.RegisterScopes(Scope);
            options.RegisterAudiences(Audience);
            options.EnableDegradedMode();
            // Keys made here rather than OpenIddict's ephemeral RSA pairs, whose generation takes seconds on a busy machine.
            options.AddSigningKey(new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "as-es256" });
            options.AddEncryptionKey(new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)));
            options.DisableAccessTokenEncryption();
            options.SetAccessTokenLifetime(tokenLifetime ?? TimeSpan.FromHours(1));
            options.UseAspNetCore().DisableTransportSecurityRequirement();
            options.Configure(o => o.SubjectTokenTypes.Add(JwtTokenType));

            // Degraded mode leaves client authentication to the host.
            options.AddEventHandler<OpenIddictServerEvents.ValidateTokenRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                if (context.ClientId != ClientId || context.ClientSecret is null || !server!.Secrets.ContainsKey(context.ClientSecret))
                {
                    context.Reject(Errors.InvalidClient, "The client credentials are not valid.");
                }

                return default;
            }));

            // The gateway's assertion is not a token this server issued: it is checked here, with the gateway's
            // public key, in place of OpenIddict's own subject token validation.
            options.AddEventHandler<OpenIddictServerEvents.ProcessAuthenticationContext>(handler => handler
                .UseInlineHandler(async context =>
                {
                    if (context.EndpointType != OpenIddictServerEndpointType.Token || !context.Request.IsTokenExchangeGrantType())
                    {
                        return;
                    }

                    context.ValidateSubjectToken = false;
                    if (assertionKey is null || context.Request.SubjectTokenType != JwtTokenType || context.SubjectToken is null)
                    {
                        context.Reject(Errors.InvalidRequest, "This server takes the gateway's JWT assertions only.");
                        return;
                    }

                    var result = await new JsonWebTokenHandler().ValidateTokenAsync(context.SubjectToken, new TokenValidationParameters
                    {
                        ValidIssuer = assertionIssuer!.Issuer,
                        ValidAudience = server!.TokenUrl.ToString(),
                        IssuerSigningKey = assertionKey,
                        ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
                    });
                    if (!result.IsValid)
                    {
                        context.Reject(Errors.InvalidGrant, "The subject token is not valid.");
                        return;
                    }

                    context.SubjectTokenPrincipal = new ClaimsPrincipal(result.ClaimsIdentity);
                })
                .SetOrder(OpenIddictServerHandlers.ResolveValidatedTokens.Descriptor.Order + 1));

            options.AddEventHandler<OpenIddictServerEvents.HandleTokenRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
                if (context.Request.IsClientCredentialsGrantType())
                {
                    identity.SetClaim(Claims.Subject, context.ClientId);
                }
                else if (context.Request.IsTokenExchangeGrantType())
                {
                    // The assertion was validated above; its act object is read from the payload, where IdentityModel leaves it as JSON.
                    var assertion = ReadClaims(context.Request.SubjectToken!);
                    var subject = assertion.GetProperty("sub").GetString()!;
                    var actor = assertion.GetProperty("act").GetProperty("sub").GetString()!;
                    identity.SetClaim(Claims.Subject, subject);
                    identity.SetClaim("agent", actor); // "actor" is a claim OpenIddict reserves
                    identity.SetAudiences([.. (context.Request.Audiences ?? []).OfType<string>()]);
                    server!.Exchanges.Enqueue((subject, actor));
                }

                identity.SetScopes(context.Request.GetScopes());
                identity.SetDestinations(static _ => [Destinations.AccessToken]);
                context.SignIn(new ClaimsPrincipal(identity));
                return default;
            }));
        });

        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/connect/token"))
            {
                Interlocked.Increment(ref server!._tokenRequests);
                if (server.Down)
                {
                    context.Abort();
                    return;
                }
            }

            await next(context);
        });
        app.UseRouting();
        app.UseAuthentication();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server = new TestAuthorizationServer(app, new Uri(address));
        server.Secrets[secret] = true;
        await server.WarmUpAsync(secret);
        return server;
    }

    /// <summary>One token request before the test starts, so the server's first-request costs are not in the test's timings.</summary>
    private async Task WarmUpAsync(string secret)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var response = await http.PostAsync(TokenUrl, new FormUrlEncodedContent(
            [new("grant_type", "client_credentials"), new("client_id", ClientId), new("client_secret", secret)]));
        response.EnsureSuccessStatusCode();
        Interlocked.Exchange(ref _tokenRequests, 0);
    }

    /// <summary>The claims of an access token this server issued, read without checks (the test only looks).</summary>
    public static JsonElement ReadClaims(string accessToken)
    {
        var payload = accessToken.Split('.')[1];
        var padded = payload.Replace('-', '+').Replace('_', '/') + new string('=', (4 - (payload.Length % 4)) % 4);
        return JsonDocument.Parse(Convert.FromBase64String(padded)).RootElement.Clone();
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
