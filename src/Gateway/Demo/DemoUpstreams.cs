using System.Text.Json;

namespace Gateway.Host.Demo;

/// <summary>
/// Stand-ins for the CRM and payments APIs of the demo policy, hosted in the gateway's own
/// process by <c>gateway demo</c>, so a newcomer needs nothing else running. Each echoes what
/// reached it, which shows what the gateway forwards (and strips).
/// </summary>
internal static class DemoUpstreams
{
    public static async Task<IReadOnlyList<WebApplication>> StartAsync(IEnumerable<(string Name, string Url)> upstreams, CancellationToken cancellationToken)
    {
        var apps = new List<WebApplication>();
        foreach (var (name, url) in upstreams)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls(url);
            var app = builder.Build();
            app.Map("/{**path}", (HttpContext context) => Echo(context, name));
            try
            {
                await app.StartAsync(cancellationToken);
            }
            catch (IOException ex) when (Commands.StartupProblems.IsAddressInUse(ex))
            {
                await app.DisposeAsync();
                foreach (var started in apps)
                {
                    await started.DisposeAsync();
                }

                throw new DemoUpstreamInUseException(name, url, ex);
            }

            apps.Add(app);
        }

        return apps;
    }

    private static async Task Echo(HttpContext context, string service)
    {
        var request = context.Request;
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, context.RequestAborted);
        context.Response.ContentType = "application/json";
        var seen = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["service"] = service,
            ["method"] = request.Method,
            ["path"] = request.Path.Value,
            ["query"] = request.QueryString.Value,
            ["body_bytes"] = body.Length,
            ["gateway_subject"] = request.Headers["Gateway-Subject"].ToString(),
            ["gateway_agent"] = request.Headers["Gateway-Agent"].ToString(),
            ["gateway_decision_id"] = request.Headers["Gateway-Decision-Id"].ToString(),
            ["authorization_forwarded"] = request.Headers.ContainsKey("Authorization"),
            ["traceparent"] = request.Headers["traceparent"].ToString(),
        };
        await JsonSerializer.SerializeAsync(context.Response.Body, seen, DemoJson.Default.DictionaryStringObject, context.RequestAborted);
    }
}

/// <summary>A demo upstream's port is taken (another demo still running, usually).</summary>
internal sealed class DemoUpstreamInUseException(string name, string url, Exception inner) : IOException(inner.Message, inner)
{
    public string Name { get; } = name;
    public string Url { get; } = url;
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, object?>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
[System.Text.Json.Serialization.JsonSerializable(typeof(long))]
[System.Text.Json.Serialization.JsonSerializable(typeof(bool))]
internal sealed partial class DemoJson : System.Text.Json.Serialization.JsonSerializerContext;
