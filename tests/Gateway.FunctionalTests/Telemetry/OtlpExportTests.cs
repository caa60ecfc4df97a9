using System.Net;
using System.Text;
using System.Text.Json;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.Host;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Gateway.FunctionalTests.Telemetry;

/// <summary>
/// The gateway exports over real OTLP/HTTP (protobuf) to a receiver on loopback, switched on by the
/// standard <c>OTEL_EXPORTER_OTLP_*</c> settings, and what arrives is the trace the upstream saw.
/// </summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task Otlp_EndpointSet_ExportsTheUpstreamsTraceAndTheDecisionsLogsAndMetrics()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            [GatewayApp.OtlpEndpointSetting] = receiver.Address.ToString().TrimEnd('/'),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "200",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
        };
        await using var gateway = await TestGateway.StartAsync(issuer, upstream, settings: settings);

        using var allowed = await TracingTests.SendAsync(gateway, HttpMethod.Get, "/crm/customers/42", issuer.Mint());
        using var refused = await TracingTests.SendAsync(gateway, HttpMethod.Get, "/crm/customers/7", issuer.Mint());

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        var decisionId = allowed.Headers.GetValues("Gateway-Decision-Id").Single();
        var received = Assert.Single(upstream.Received, r => r.Headers.GetValueOrDefault("Gateway-Decision-Id") == decisionId);
        var (traceId, _) = TracingTests.ParseTraceparent(received.Headers["traceparent"]);
        var traceIdBytes = Convert.FromHexString(traceId.ToHexString());
        Assert.Equal(16, traceIdBytes.Length);
        void Flush()
        {
            gateway.Services.GetRequiredService<TracerProvider>().ForceFlush(5_000);
            gateway.Services.GetRequiredService<MeterProvider>().ForceFlush(5_000);
            gateway.Services.GetRequiredService<LoggerProvider>().ForceFlush(5_000);
        }

        // Traces: the 16 raw bytes of the upstream's trace id (OTLP protobuf carries ids as bytes),
        // with the gateway's span and its decision id in the same export.
        var traces = await receiver.WaitForAsync("traces", body => Contains(body, traceIdBytes) && Contains(body, decisionId), Flush);
        Assert.Equal("application/x-protobuf", traces.ContentType);
        Assert.True(Contains(traces.Body, "gateway.authorize"));

        // Logs: the refusal's log line, by its decision id; metrics: the contract's decision counter.
        var refusalId = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("decision_id").GetString()!;
        var logs = await receiver.WaitForAsync("logs", body => Contains(body, refusalId), Flush);
        Assert.Equal("application/x-protobuf", logs.ContentType);
        var metrics = await receiver.WaitForAsync("metrics", body => Contains(body, "gateway.decisions"), Flush);
        Assert.Equal("application/x-protobuf", metrics.ContentType);
    }

    private static bool Contains(byte[] body, string text) => Contains(body, Encoding.UTF8.GetBytes(text));

    private static bool Contains(byte[] body, byte[] part) => body.AsSpan().IndexOf(part) >= 0;
}
