using Gateway.Admin;
using Gateway.Approvals;
using Gateway.Audit;
using Gateway.Budgets;
using Gateway.Enforcement;
using Gateway.Policy;
using Gateway.Redis;
using Gateway.Redis.Approvals;
using Gateway.Redis.Audit;
using Gateway.Redis.Budgets;
using Gateway.Redis.Revocation;
using Gateway.Redis.StatusLists;
using Gateway.Revocation;
using Gateway.StatusLists;
using Gateway.Telemetry;
using Gateway.Tokens;
using Gateway.Upstreams;
using Microsoft.AspNetCore.DataProtection;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using StackExchange.Redis;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

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

    /// <summary>A last say over the proxy's builder (tests add exporters and log capture here).</summary>
    public Action<WebApplicationBuilder>? Configure { get; init; }
}

/// <summary>Composes the gateway: the proxy listener (policy, tokens, enforcement, YARP) and the admin listener.</summary>
public static class GatewayApp
{
    /// <summary>Tokens up to 64 KiB get the gateway's own answer, so Kestrel must accept them.</summary>
    public const int MaxRequestHeadersTotalSize = 128 * 1024;

    /// <summary>The standard OpenTelemetry setting that switches OTLP export on (environment or configuration).</summary>
    public const string OtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

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
        services.AddSingleton(sp => new UpstreamCredentials(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient("upstream-credentials"), time, sp.GetRequiredService<ILogger<UpstreamCredentials>>()));
        services.AddSingleton(sp => PolicyMonitor.Start(
            options.ConfigPath,
            policy => CreateSnapshot(policy, time, sp.GetRequiredService<IHttpClientFactory>().CreateClient("jwks"), sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<UpstreamCredentials>()),
            time,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<PolicyMonitor>(),
            options.PolicyPollInterval));
        services.AddSingleton<PolicyProxyConfigProvider>();
        services.AddSingleton<IProxyConfigProvider>(sp => sp.GetRequiredService<PolicyProxyConfigProvider>());
        AddStores(services, builder.Configuration);
        services.AddSenderConstraints(builder.Configuration);
        services.AddSingleton(sp => new AuthorizationEvaluator(
            time,
            sp.GetRequiredService<BudgetCharger>(),
            sp.GetRequiredService<RevocationIndex>(),
            sp.GetRequiredService<ApprovalFlow>(),
            sp.GetRequiredService<SenderConstraintCheck>(),
            sp.GetRequiredService<StatusListCache>()));
        // Status lists are fetched like issuer keys: the issuer chooses the URL under the policy's status_lists prefixes.
        services.AddHttpClient("status-lists").ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
        services.AddSingleton(sp => new StatusListCache(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient("status-lists"), time, sp.GetRequiredService<ILogger<StatusListCache>>()));
        services.AddSingleton(sp => new AdminEvents(sp.GetRequiredService<ILogger<AdminEvents>>(), sp.GetRequiredService<AuditSinks>().Writer, sp.GetRequiredService<PolicyMonitor>(), time));
        services.AddSingleton(sp => new DelegationServices(
            sp.GetRequiredService<BudgetCharger>().Store, sp.GetRequiredService<RevocationIndex>(), time, sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<IStatusListStore>()));
        services.AddSingleton(sp => new PublishedStatusListEndpoint(sp.GetRequiredService<IStatusListStore>(), sp.GetRequiredService<DelegationServices>(), time));
        services.AddSingleton(sp => new AdminKeyAuthenticator(
            sp.GetRequiredService<PolicyMonitor>(),
            sp.GetRequiredService<IConfiguration>()[AdminKeyAuthenticator.EnvironmentVariable]));
        services.AddReverseProxy().AddGatewayTransforms();
        services.AddSingleton<IForwarderHttpClientFactory>(sp => new UpstreamHttpClientFactory(sp.GetRequiredService<UpstreamCredentials>()));

        // YARP's session-affinity cookies need data protection; the gateway uses no affinity, and
        // a key ring on disk would be the only file it writes outside the audit volume.
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        AddAudit(services, builder.Configuration);
        AddTelemetry(services, builder.Configuration);
        services.AddSingleton<Mcp.IMcpSessionStore>(sp => sp.GetRequiredService<StoreSettings>().Kind == StoreKind.Redis
            ? new Redis.Mcp.RedisMcpSessionStore(sp.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>(), logger: sp.GetRequiredService<ILogger<Redis.Mcp.RedisMcpSessionStore>>())
            : new Mcp.InMemoryMcpSessionStore(time));
        services.AddSingleton<Mcp.McpToolHeaderCache>();
        services.AddSingleton<Mcp.McpRouteHandler>();
        services.AddSingleton(sp => new DecisionRecorder(sp.GetRequiredService<AuditSinks>().Writer, sp.GetRequiredService<PolicyMonitor>(), time, sp.GetRequiredService<ILogger<DecisionRecorder>>()));
        options.Configure?.Invoke(builder);

        var proxy = builder.Build();

        // Fail at start, with every error, rather than on the first request.
        var policies = proxy.Services.GetRequiredService<PolicyMonitor>();
        proxy.Services.GetRequiredService<SenderConstraintCheck>();

        proxy.UseGatewayPathGuard();
        proxy.UseRouting();
        proxy.MapGateway();

        var revocations = proxy.Services.GetRequiredService<RevocationSynchronizer>();
        revocations.Applied += static applied =>
        {
            // Rules loaded at start are old news, not propagation: only live deliveries measure lag.
            if (applied.Delivery != RevocationDelivery.Startup)
            {
                GatewayTelemetry.RecordRevocationLag(applied.Lag);
            }
        };

        var adminUrls = options.AdminUrls ?? policies.Current.Policy.Admin.Urls;
        var admin = BuildAdmin(proxy.Services, adminUrls);
        var server = new GatewayServer(proxy, admin, proxy.Services.GetRequiredService<AuditSinks>().Writer, options.Urls, adminUrls);
        proxy.Services.GetRequiredService<ApprovalLinks>().UseListener(() => server.AdminAddress);
        return server;
    }

    /// <summary>One policy load's snapshot. <paramref name="credentials"/> is null where nothing is forwarded (<c>gateway explain</c>), so no secret is read.</summary>
    internal static PolicySnapshot CreateSnapshot(GatewayPolicy policy, TimeProvider time, HttpClient jwksClient, ILoggerFactory loggers, UpstreamCredentials? credentials = null)
    {
        var keys = IssuerKeyResolver.Create(policy.Issuers, jwksClient, time, loggers);
        var validator = new CapabilityTokenValidator(policy, keys, time, loggers.CreateLogger<CapabilityTokenValidator>());
        return new PolicySnapshot(policy, validator, credentials?.Bind(policy)) { Keys = keys };
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
                    new RedisBudgetStore(
                        sp.GetRequiredService<IConnectionMultiplexer>(),
                        // Gateway:Store:CoalesceCharges=false (env Gateway__Store__CoalesceCharges) sends one script call per charge.
                        new BudgetStoreOptions { CoalesceCharges = configuration.GetValue("Gateway:Store:CoalesceCharges", true) },
                        sp.GetRequiredService<ILogger<RedisBudgetStore>>(),
                        time),
                    logger: sp.GetRequiredService<ILogger<ResilientBudgetStore>>(),
                    timeProvider: time)
                : local;
            return new BudgetCharger(store, local, sp.GetRequiredService<ILogger<BudgetCharger>>());
        });

        services.AddSingleton<IStatusListStore>(sp => sp.GetRequiredService<StoreSettings>().Kind == StoreKind.Redis
            ? new RedisStatusListStore(sp.GetRequiredService<IConnectionMultiplexer>(), timeProvider: sp.GetRequiredService<TimeProvider>())
            : new InMemoryStatusListStore(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IRevocationStore>(sp =>
        {
            var time = sp.GetRequiredService<TimeProvider>();
            IRevocationStore store = sp.GetRequiredService<StoreSettings>().Kind == StoreKind.Redis
                ? new RedisRevocationStore(sp.GetRequiredService<IConnectionMultiplexer>(), logger: sp.GetRequiredService<ILogger<RedisRevocationStore>>(), timeProvider: time)
                : new InMemoryRevocationStore(time);

            // Every revocation, whichever endpoint received it, also sets the revoked children's bits in the published list.
            return new StatusPublishingRevocationStore(
                store, sp.GetRequiredService<IStatusListStore>(), sp.GetRequiredService<PolicyMonitor>(), sp.GetRequiredService<ILogger<StatusPublishingRevocationStore>>());
        });
        services.AddSingleton(sp => new RevocationIndex(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new RevocationSynchronizer(
            sp.GetRequiredService<IRevocationStore>(),
            sp.GetRequiredService<RevocationIndex>(),
            sp.GetRequiredService<ILogger<RevocationSynchronizer>>(),
            sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService(sp => sp.GetRequiredService<RevocationSynchronizer>());
        services.AddSingleton<IApprovalStore>(sp => sp.GetRequiredService<StoreSettings>().Kind == StoreKind.Redis
            ? new RedisApprovalStore(sp.GetRequiredService<IConnectionMultiplexer>(), logger: sp.GetRequiredService<ILogger<RedisApprovalStore>>(), timeProvider: sp.GetRequiredService<TimeProvider>())
            : new InMemoryApprovalStore(timeProvider: sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ApprovalLinks>();
        services.AddSingleton<IApprovalEvents>(sp => new AuditedApprovalEvents(sp.GetRequiredService<AdminEvents>()));
        services.AddSingleton<ApprovalFlow>();
        services.AddSingleton(sp => new ApprovalService(
            sp.GetRequiredService<ApprovalFlow>(), sp.GetRequiredService<PolicyMonitor>(), sp.GetRequiredService<BudgetCharger>().Store,
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ApprovalService>>()));
    }

    /// <summary>
    /// The audit writer, when the policy names a sink (<c>audit.file</c>, <c>audit.redis_stream</c>).
    /// It is started and stopped by <see cref="GatewayServer"/>, after the listeners, so that
    /// requests draining at shutdown are still recorded.
    /// </summary>
    private static void AddAudit(IServiceCollection services, ConfigurationManager configuration)
    {
        services.AddSingleton(sp =>
        {
            var audit = sp.GetRequiredService<PolicyMonitor>().Current.Policy.Audit;
            var sinks = new List<IAuditSink>();
            if (audit.File is { } file)
            {
                var options = new JsonLinesAuditSinkOptions { Path = file };
                options = options with
                {
                    MaxFileBytes = audit.MaxFileBytes ?? options.MaxFileBytes,
                    Fsync = audit.Fsync ?? options.Fsync,
                    FsyncInterval = audit.FsyncInterval ?? options.FsyncInterval,
                };

                sinks.Add(new JsonLinesAuditSink(options, sp.GetRequiredService<ILogger<JsonLinesAuditSink>>(), sp.GetRequiredService<TimeProvider>()));
            }

            if (audit.RedisStream is { } stream)
            {
                sinks.Add(new RedisStreamAuditSink(sp.GetRequiredService<IConnectionMultiplexer>(), new RedisStreamAuditSinkOptions { StreamKey = stream }, sp.GetRequiredService<ILogger<RedisStreamAuditSink>>()));
            }

            return sinks;
        });
        services.AddSingleton(sp =>
        {
            var sinks = sp.GetRequiredService<List<IAuditSink>>();
            var writerOptions = new AuditWriterOptions { Replica = configuration["Gateway:Audit:Replica"] ?? Environment.MachineName };
            writerOptions = writerOptions with { BatchDelay = sp.GetRequiredService<PolicyMonitor>().Current.Policy.Audit.BatchDelay ?? writerOptions.BatchDelay };

            return new AuditSinks(sinks.Count == 0 ? null : new AuditWriter(
                sinks,
                writerOptions,
                sp.GetRequiredService<ILogger<AuditWriter>>(),
                sp.GetRequiredService<TimeProvider>()));
        });
    }

    /// <summary>
    /// Traces, metrics and logs through OpenTelemetry: the gateway's own source and meter, ASP.NET
    /// Core's server spans and the outgoing HTTP spans (YARP's forwarder), exported over OTLP when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set. Read from configuration, which holds the environment,
    /// so a test can point one gateway at its own receiver; the exporter reads the other standard
    /// <c>OTEL_*</c> settings (protocol, headers, batch delays) from the same place. With no exporter,
    /// spans are still created so that trace ids reach problems, audit events and the upstream's
    /// traceparent, and logs go to the console only.
    /// </summary>
    private static void AddTelemetry(IServiceCollection services, ConfigurationManager configuration)
    {
        var otlp = !string.IsNullOrEmpty(configuration[OtlpEndpointSetting]);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                // OTEL_SERVICE_NAME, when set, names the service; an explicit name here would override it.
                if (string.IsNullOrEmpty(configuration["OTEL_SERVICE_NAME"]))
                {
                    resource.AddService("gateway");
                }
            })
            .WithTracing(tracing =>
            {
                tracing.AddSource(GatewayTelemetry.Name).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(GatewayTelemetry.Name);
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
        if (otlp)
        {
            // Log records carry ids and codes only (docs/telemetry.md); each is tied to its span.
            telemetry.WithLogging(logging => logging.AddOtlpExporter());
        }
    }

    private static WebApplication BuildAdmin(IServiceProvider shared, IReadOnlyList<string> urls)
    {
        var builder = WebApplication.CreateSlimBuilder();
        ConfigureLogging(builder.Logging);
        builder.WebHost.UseUrls([.. urls]);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();

        // One set of stores and one policy for both listeners: the proxy's container owns them.
        builder.Services.AddSingleton(shared.GetRequiredService<TimeProvider>());
        builder.Services.AddSingleton(shared.GetRequiredService<PolicyMonitor>());
        builder.Services.AddSingleton(shared.GetRequiredService<BudgetCharger>());
        builder.Services.AddSingleton(shared.GetRequiredService<AdminKeyAuthenticator>());
        builder.Services.AddSingleton(shared.GetRequiredService<AdminEvents>());
        builder.Services.AddSingleton(shared.GetRequiredService<IRevocationStore>());
        builder.Services.AddSingleton(shared.GetRequiredService<RevocationIndex>());
        builder.Services.AddSingleton(shared.GetRequiredService<RevocationSynchronizer>());
        builder.Services.AddSingleton(shared.GetRequiredService<StatusListCache>());
        builder.Services.AddSingleton(shared.GetRequiredService<PublishedStatusListEndpoint>());
        builder.Services.AddSingleton(shared.GetRequiredService<DelegationServices>());
        builder.Services.AddSingleton(shared.GetRequiredService<ApprovalService>());
        builder.Services.AddSingleton(shared.GetRequiredService<UpstreamCredentials>());
        builder.Services.AddSingleton(shared.GetRequiredService<Dpop.IDpopReplayStore>());
        var admin = builder.Build();
        admin.MapGatewayAdmin();
        return admin;
    }

    private static void ConfigureLogging(ILoggingBuilder logging)
    {
        // Per-request framework logs cost more than the decision itself; the decision line is ours.
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter("Yarp", LogLevel.Warning);

        // A list server that is down would log every failed fetch with its stack; the gateway's own warning (1602) says it once, plainly.
        logging.AddFilter("System.Net.Http.HttpClient.status-lists", LogLevel.Warning);
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

/// <summary>Holds the optional audit writer, since a container cannot hold a null singleton.</summary>
internal sealed record AuditSinks(AuditWriter? Writer);
