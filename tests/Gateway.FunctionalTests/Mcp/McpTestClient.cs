using System.Collections.Concurrent;
using System.Net.Http.Headers;
using ModelContextProtocol.Client;

namespace Gateway.FunctionalTests.Mcp;

/// <summary>
/// The SDK's own MCP client over streamable HTTP, with a capability token added to every
/// request by an <see cref="HttpClient"/> handler (as an agent runtime does), and a record of
/// every exchange so tests can assert on what went over the wire.
/// </summary>
public sealed class McpTestClient : IAsyncDisposable
{
    /// <summary>The protocol generation with sessions and the initialize handshake.</summary>
    public const string Sessions = "2025-11-25";

    /// <summary>The stateless generation: no initialize, every request names itself in headers.</summary>
    public const string Stateless = "2026-07-28";

    /// <summary>Every version the SDK's client speaks over streamable HTTP and these tests exercise.</summary>
    public static TheoryData<string> Versions => [Sessions, Stateless];

    private McpTestClient(McpClient client, WireLog wire)
    {
        Client = client;
        Wire = wire;
    }

    public McpClient Client { get; }

    public WireLog Wire { get; }

    /// <summary>
    /// Connects to <paramref name="endpoint"/> speaking exactly <paramref name="protocolVersion"/>
    /// (the SDK then neither probes nor downgrades). <paramref name="authorize"/> sets each
    /// request's credentials; it runs per request, so a test may change the token mid-session.
    /// </summary>
    public static async Task<McpTestClient> ConnectAsync(
        Uri endpoint,
        string protocolVersion,
        Action<HttpRequestMessage>? authorize = null,
        bool standaloneGetStream = false,
        CancellationToken cancellationToken = default)
    {
        var wire = new WireLog();
        var handler = new CredentialHandler(authorize, wire) { InnerHandler = new SocketsHttpHandler() };
        var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        var transport = new HttpClientTransport(
            new HttpClientTransportOptions
            {
                Endpoint = endpoint,
                TransportMode = HttpTransportMode.StreamableHttp,
                Name = "gateway-tests",
                EnableStandaloneGetStream = standaloneGetStream,
            },
            http,
            loggerFactory: null,
            ownsHttpClient: true);
        var client = await McpClient.CreateAsync(
            transport,
            new McpClientOptions
            {
                ProtocolVersion = protocolVersion,
                ClientInfo = new() { Name = "gateway-functional-tests", Version = "1.0.0" },
                InitializationTimeout = TimeSpan.FromSeconds(30),
            },
            cancellationToken: cancellationToken);
        return new McpTestClient(client, wire);
    }

    /// <summary>A bearer token on every request.</summary>
    public static Action<HttpRequestMessage> Bearer(string token) =>
        request => request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);

    public async ValueTask DisposeAsync() => await Client.DisposeAsync();

    private sealed class CredentialHandler(Action<HttpRequestMessage>? authorize, WireLog wire) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            authorize?.Invoke(request);
            var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
            var response = await base.SendAsync(request, cancellationToken);
            // A JSON answer (a problem, a JSON-RPC error) is read whole and put back; an SSE stream is left alone.
            string? answer = null;
            if (response.Content.Headers.ContentType?.MediaType is "application/json" or "application/problem+json")
            {
                answer = await response.Content.ReadAsStringAsync(cancellationToken);
                var replay = new StringContent(answer);
                replay.Headers.Clear();
                foreach (var header in response.Content.Headers)
                {
                    replay.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }

                response.Content = replay;
            }

            wire.Add(new WireExchange(
                request.Method.Method,
                request.Headers.ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase),
                body,
                (int)response.StatusCode,
                response.Content.Headers.ContentType?.MediaType,
                response.Headers.ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase),
                answer));
            return response;
        }
    }
}

/// <summary>What one HTTP exchange of an MCP client carried; the response body only when it was JSON (an SSE stream is not read).</summary>
public sealed record WireExchange(
    string Method,
    IReadOnlyDictionary<string, string> RequestHeaders,
    string? RequestBody,
    int Status,
    string? ResponseType,
    IReadOnlyDictionary<string, string> ResponseHeaders,
    string? ResponseBody)
{
    /// <summary>The gateway's error code of a problem answer (<c>error</c>), if the answer was one.</summary>
    public string? ProblemError =>
        ResponseBody is not null && System.Text.Json.JsonDocument.Parse(ResponseBody).RootElement is { ValueKind: System.Text.Json.JsonValueKind.Object } root
        && root.TryGetProperty("error", out var error) && error.ValueKind == System.Text.Json.JsonValueKind.String
            ? error.GetString()
            : null;
}

public sealed class WireLog
{
    private readonly ConcurrentQueue<WireExchange> _exchanges = new();

    public IReadOnlyList<WireExchange> Exchanges => [.. _exchanges];

    internal void Add(WireExchange exchange) => _exchanges.Enqueue(exchange);

    /// <summary>The POSTs whose JSON-RPC body names <paramref name="method"/>.</summary>
    public IReadOnlyList<WireExchange> Posts(string method) =>
        [.. _exchanges.Where(e => e.Method == "POST" && e.RequestBody is not null && e.RequestBody.Contains($"\"method\":\"{method}\"", StringComparison.Ordinal))];
}
