using Gateway.Admin;
using Gateway.Budgets;
using Gateway.Enforcement;
using Gateway.Policy;
using Gateway.Redis;
using Gateway.Redis.Budgets;
using Gateway.Tokens;
using StackExchange.Redis;
using Yarp.ReverseProxy.Configuration;

namespace Gateway.Host;

/// <summary>What <c>gateway serve</c> needs to know; tests build the same thing on port 0.</summary>
public sealed record GatewayStartOptions
{
    /// <summary>Policy file or folder. Default <c>config/gateway.yaml</c>.</summary>
    public string ConfigPath { get; init; } = Path.Combine("config", "gateway.yaml");

    /// <summary>Proxy listener URLs. Default <c>http://127.0.0.1:8080</c>.</summary>
    public IReadOnlyList<string> Urls { get; init; } = ["http://127.0.0.1:8080"];

    /// <summary>Admin listener URLs; default the policy's <c>admin.urls</c>.</summary>
    public IReadOnlyList<string>? AdminUrls { get; init; }

    /// <summary>Extra configuration (ASP.NET style), e.g. from tests; environment variables also apply.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public TimeSpan PolicyPollInterval { get; init; } = PolicyMonitor.DefaultPollInterval;
}

/// <summary>Composes the gateway: the proxy listener (policy, tokens, enforcement, YARP) and the admin listener.</summary>
public static class GatewayApp
{
    /// <summary>Tokens up to 64 KiB get the gateway's own answer, so Kestrel must accept them.</summary>
    public const int MaxRequestHeadersTotalSize = 128 * 1024;

    public static GatewayServer Build(GatewayStartOptions options, string[]? args = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args ?? [] });
        builder.Configuration.AddInMemoryCollection(options.Settings);
        ConfigureLogging(builder.Logging);
        builder.WebHost.UseUrls([.. options.Urls]);
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            SenderConstraintServices.AcceptClientCertificatesForBinding(kestrel);
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
        AddStores(services, builder.Configuration);
        services.AddSenderConstraints(builder.Configuration);
        services.AddSingleton(sp => new AuthorizationEvaluator(time, sp.GetRequiredService<BudgetCharger>(), sp.GetRequiredService<SenderConstraintCheck>()));
        services.AddSingleton(sp => new AdminKeyAuthenticator(
            sp.GetRequiredService<PolicyMonitor>(),
            sp.GetRequiredService<IConfiguration>()[AdminKeyAuthenticator.EnvironmentVariable]));
        services.AddReverseProxy();

        var proxy = builder.Build();

        // Fail at start, with every error, rather than on the first request.
        var policies = proxy.Services.GetRequiredService<PolicyMonitor>();
        proxy.Services.GetRequiredService<SenderConstraintCheck>();

        proxy.UseGatewayPathGuard();
        proxy.UseRouting();
        proxy.MapGateway();

        var admin = BuildAdmin(proxy.Services, options.AdminUrls ?? policies.Current.Policy.Admin.Urls);
        return new GatewayServer(proxy, admin);
    }

    internal static PolicySnapshot CreateSnapshot(GatewayPolicy policy, TimeProvider time, HttpClient jwksClient, ILoggerFactory loggers)
    {
        var keys = IssuerKeyResolver.Create(policy.Issuers, jwksClient, time, loggers);
        var validator = new CapabilityTokenValidator(policy, keys, time, loggers.CreateLogger<CapabilityTokenValidator>());
        return new PolicySnapshot(policy, validator);
    }

    /// <summary>
    /// The store is chosen once, at start, from the policy's <c>gateway.store</c> and <c>gateway.redis</c>;
    /// <c>Gateway:Store:Kind</c> and <c>Gateway:Store:Redis</c> (env <c>Gateway__Store__Redis</c>) override
    /// them so a password never has to be written into the policy file.
    /// </summary>
    private static void AddStores(IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(sp => StoreSettings.Resolve(sp.GetRequiredService<PolicyMonitor>().Current.Policy.Gateway, configuration));
        services.AddSingleton<IConnectionMultiplexer>(sp =>
        {
            var settings = sp.GetRequiredService<StoreSettings>();
            return GatewayRedisConnection.ConnectAsync(settings.Redis).GetAwaiter().GetResult();
        });
        services.AddSingleton(sp =>
        {
            var time = sp.GetRequiredService<TimeProvider>();
            var local = new InMemoryBudgetStore(timeProvider: time);
            var settings = sp.GetRequiredService<StoreSettings>();
            IBudgetStore store = settings.Kind == StoreKind.Redis
                ? new ResilientBudgetStore(
                    new RedisBudgetStore(sp.GetRequiredService<IConnectionMultiplexer>(), logger: sp.GetRequiredService<ILogger<RedisBudgetStore>>(), timeProvider: time),
                    logger: sp.GetRequiredService<ILogger<ResilientBudgetStore>>(),
                    timeProvider: time)
                : local;
            return new BudgetCharger(store, local, sp.GetRequiredService<ILogger<BudgetCharger>>());
        });
    }

    private static WebApplication BuildAdmin(IServiceProvider shared, IReadOnlyList<string> urls)
    {
        var builder = WebApplication.CreateSlimBuilder();
        ConfigureLogging(builder.Logging);
        builder.WebHost.UseUrls([.. urls]);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);

        // One set of stores and one policy for both listeners: the proxy's container owns them.
        builder.Services.AddSingleton(shared.GetRequiredService<TimeProvider>());
        builder.Services.AddSingleton(shared.GetRequiredService<PolicyMonitor>());
        builder.Services.AddSingleton(shared.GetRequiredService<BudgetCharger>());
        builder.Services.AddSingleton(shared.GetRequiredService<AdminKeyAuthenticator>());
        var admin = builder.Build();
        admin.MapGatewayAdmin();
        return admin;
    }

    private static void ConfigureLogging(ILoggingBuilder logging)
    {
        // Per-request framework logs cost more than the decision itself; the decision line is ours.
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter("Yarp", LogLevel.Warning);
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
    }
}

/// <summary>Which store backs budgets (and later revocations and approvals), after configuration overrides.</summary>
internal sealed record StoreSettings(StoreKind Kind, string Redis)
{
    public static StoreSettings Resolve(GatewaySettings gateway, IConfiguration configuration)
    {
        var redis = configuration["Gateway:Store:Redis"];
        var kind = configuration["Gateway:Store:Kind"] switch
        {
            null or "" => redis is null ? gateway.Store : StoreKind.Redis,
            var k when k.Equals("redis", StringComparison.OrdinalIgnoreCase) => StoreKind.Redis,
            var k when k.Equals("memory", StringComparison.OrdinalIgnoreCase) => StoreKind.Memory,
            var k => throw new InvalidOperationException($"Gateway:Store:Kind must be 'memory' or 'redis', not '{k}'."),
        };
        return new StoreSettings(kind, redis ?? gateway.Redis);
    }
}
