using Gateway.Enforcement;
using Gateway.Policy;
using Gateway.Tokens;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Host;

/// <summary>What <c>gateway serve</c> needs to know; tests build the same thing on port 0.</summary>
public sealed record GatewayStartOptions
{
    /// <summary>Policy file or folder. Default <c>config/gateway.yaml</c>.</summary>
    public string ConfigPath { get; init; } = Path.Combine("config", "gateway.yaml");

    /// <summary>Proxy listener URLs. Default <c>http://127.0.0.1:8080</c>.</summary>
    public IReadOnlyList<string> Urls { get; init; } = ["http://127.0.0.1:8080"];

    public IReadOnlyList<string>? AdminUrls { get; init; }

    /// <summary>Extra configuration (ASP.NET style), e.g. from the command line or tests.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public TimeSpan PolicyPollInterval { get; init; } = PolicyMonitor.DefaultPollInterval;
}

/// <summary>Composes the gateway: policy, token validation, enforcement and YARP on Kestrel.</summary>
public static class GatewayApp
{
    /// <summary>Tokens up to 64 KiB get the gateway's own answer, so Kestrel must accept them.</summary>
    public const int MaxRequestHeadersTotalSize = 128 * 1024;

    public static WebApplication Build(GatewayStartOptions options, string[]? args = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args ?? [] });
        builder.Configuration.AddInMemoryCollection(options.Settings);
        // Per-request framework logs cost more than the decision itself; the decision line is ours.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Yarp", LogLevel.Warning);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });

        builder.WebHost.UseUrls([.. options.Urls]);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestHeadersTotalSize = MaxRequestHeadersTotalSize;
            kestrel.Limits.MaxRequestLineSize = 16 * 1024;
            kestrel.Limits.Http2.MaxRequestHeaderFieldSize = MaxRequestHeadersTotalSize;
        });

        var time = options.Time;
        var services = builder.Services;
        services.AddSingleton(time);
        services.AddHttpClient();
        services.AddSingleton(sp => PolicyMonitor.Start(
            options.ConfigPath,
            policy => CreateSnapshot(policy, time, sp.GetRequiredService<IHttpClientFactory>().CreateClient("jwks"), sp.GetRequiredService<ILoggerFactory>()),
            time,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<PolicyMonitor>(),
            options.PolicyPollInterval));
        services.AddSingleton<PolicyProxyConfigProvider>();
        services.AddSingleton<IProxyConfigProvider>(sp => sp.GetRequiredService<PolicyProxyConfigProvider>());
        services.AddSingleton<AuthorizationEvaluator>();
        services.AddReverseProxy();

        var app = builder.Build();

        // Fail at start, with every error, rather than on the first request.
        _ = app.Services.GetRequiredService<PolicyMonitor>();

        app.UseGatewayPathGuard();
        app.UseRouting();
        app.MapGateway();
        return app;
    }

    internal static PolicySnapshot CreateSnapshot(GatewayPolicy policy, TimeProvider time, HttpClient jwksClient, ILoggerFactory loggers)
    {
        var keys = IssuerKeyResolver.Create(policy.Issuers, jwksClient, time, loggers);
        var validator = new CapabilityTokenValidator(policy, keys, time, loggers.CreateLogger<CapabilityTokenValidator>());
        return new PolicySnapshot(policy, validator);
    }
}
