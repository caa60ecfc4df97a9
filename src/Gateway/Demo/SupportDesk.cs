using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Gateway.Host.Demo;

/// <summary>
/// The support server's state: its tickets, and what reached it (HTTP requests and tool calls),
/// so that a demo user or a test can see what the gateway forwarded and what it stopped.
/// </summary>
internal sealed class SupportDesk
{
    private readonly ConcurrentDictionary<string, SupportTicket> _tickets = new(StringComparer.Ordinal);
    private int _lastNumber = 1000;

    /// <summary>
    /// Awaited after each progress step of <c>export_queue</c> (step, of steps). A quarter second
    /// between steps by default, so that a person watching sees the progress arrive; tests
    /// replace it with a gate to prove that progress reaches the client while the call runs.
    /// </summary>
    public Func<int, int, CancellationToken, Task> AfterExportStep { get; init; } =
        static (step, steps, cancellationToken) => step < steps ? Task.Delay(250, cancellationToken) : Task.CompletedTask;

    /// <summary>Every HTTP request that reached the server, oldest first.</summary>
    public ConcurrentQueue<SupportRequest> Requests { get; } = new();

    /// <summary>Every tool call that reached a tool, oldest first.</summary>
    public ConcurrentQueue<SupportToolCall> ToolCalls { get; } = new();

    public SupportTicket Create(string queue, string title, string priority)
    {
        var id = $"T-{Interlocked.Increment(ref _lastNumber)}";
        var ticket = new SupportTicket(id, queue, title, priority, "open", null);
        _tickets[id] = ticket;
        return ticket;
    }

    public SupportTicket? Find(string id) => _tickets.GetValueOrDefault(id);

    public SupportTicket? Close(string id, string reason)
    {
        while (_tickets.TryGetValue(id, out var ticket))
        {
            var closed = ticket with { Status = "closed", Resolution = reason };
            if (_tickets.TryUpdate(id, closed, ticket))
            {
                return closed;
            }
        }

        return null;
    }

    public IReadOnlyList<SupportTicket> InQueue(string queue) =>
        [.. _tickets.Values.Where(t => string.Equals(t.Queue, queue, StringComparison.Ordinal)).OrderBy(t => t.Id, StringComparer.Ordinal)];

    /// <summary>How many calls of <paramref name="tool"/> reached the server.</summary>
    public int CallsOf(string tool) => ToolCalls.Count(c => string.Equals(c.Tool, tool, StringComparison.Ordinal));

    internal void Record(HttpRequest request) => Requests.Enqueue(new SupportRequest(
        request.Method,
        request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)));

    internal void Record(string tool, IDictionary<string, JsonElement>? arguments, JsonObject? meta) => ToolCalls.Enqueue(new SupportToolCall(
        tool,
        arguments is null ? "{}" : JsonSerializer.Serialize(arguments, SupportJson.Default.IDictionaryStringJsonElement),
        meta?["traceparent"]?.GetValue<string>()));
}

internal sealed record SupportTicket(string Id, string Queue, string Title, string Priority, string Status, string? Resolution);

internal sealed record SupportRequest(string Method, IReadOnlyDictionary<string, string> Headers);

/// <summary>A tool call as the server saw it: the tool, its arguments as JSON, and the <c>traceparent</c> in <c>params._meta</c>, if any.</summary>
internal sealed record SupportToolCall(string Tool, string Arguments, string? Traceparent);

[System.Text.Json.Serialization.JsonSerializable(typeof(SupportTicket))]
[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyList<SupportTicket>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(IDictionary<string, JsonElement>))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
internal sealed partial class SupportJson : System.Text.Json.Serialization.JsonSerializerContext;
