using System.CommandLine;
using System.Text.Json;
using Gateway.Enforcement;
using Gateway.Policy;

namespace Gateway.Host.Commands;

/// <summary>
/// <c>gateway explain</c>: the decision the policy and the token give one request, with no side
/// effects (no budget charged, nothing forwarded). Exit 0 when allowed, 2 when refused. It runs
/// offline, so the checks whose state only the running gateway holds are skipped, and its output
/// and help say which: a user must never read "allow" as a promise the gateway will forward.
/// </summary>
internal static class ExplainCommand
{
    private const string Help =
        "Print the decision the policy and the token give one request, without side effects (nothing charged, nothing forwarded). "
        + "It runs offline: it does NOT check revocations, approvals already granted, the step and risk budgets left, or the store, "
        + "which only the running gateway holds, so an \"allow\" here can still be refused there. The output lists them under \"not_checked\". "
        + "Exit 0 allow, 2 deny, 1 bad policy.";

    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "Policy file or folder.", DefaultValueFactory = _ => Path.Combine("config", "gateway.yaml") };
        var token = new Option<string>("--token") { Description = "The capability token (compact JWS).", Required = true };
        var method = new Option<string>("--method") { Description = "HTTP method.", DefaultValueFactory = _ => "GET" };
        var path = new Option<string>("--path") { Description = "Request path, with an optional query string.", Required = true };
        var headers = new Option<string[]>("--header") { Description = "Extra request header 'Name: value' (for {header.NAME} resources).", AllowMultipleArgumentsPerToken = false };
        var body = new Option<string?>("--body") { Description = "Request body; on an MCP route the JSON-RPC message decided (e.g. a tools/call)." };
        var command = new Command("explain", Help) { config, token, method, path, headers, body };
        command.SetAction(async (result, cancellationToken) =>
        {
            var loaded = PolicyLoader.Load(result.GetValue(config)!);
            if (loaded.Policy is null)
            {
                foreach (var error in loaded.Errors)
                {
                    await Console.Error.WriteLineAsync(error.ToString());
                }

                return 1;
            }

            using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning));
            using var http = new HttpClient();
            var snapshot = GatewayApp.CreateSnapshot(loaded.Policy, TimeProvider.System, http, loggers);
            var context = new DefaultHttpContext();
            var request = context.Request;
            request.Method = result.GetValue(method)!.ToUpperInvariant();
            var target = result.GetValue(path)!;
            var query = target.IndexOf('?', StringComparison.Ordinal);
            request.Path = query < 0 ? target : target[..query];
            request.QueryString = query < 0 ? QueryString.Empty : new QueryString(target[query..]);
            foreach (var header in result.GetValue(headers) ?? [])
            {
                var colon = header.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    request.Headers.Append(header[..colon].Trim(), header[(colon + 1)..].Trim());
                }
            }

            request.Headers.Authorization = "Bearer " + result.GetValue(token);
            if (result.GetValue(body) is { } content)
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(content);
                request.Body = new MemoryStream(bytes);
                request.ContentLength = bytes.Length;
                request.ContentType = "application/json";
            }

            var guard = RequestPathGuard.CheckPath(request.Path.Value);
            var values = new RouteValueDictionary();
            var route = guard is null ? new RouteTable(snapshot).Match(request.Method, request.Path.Value!, values) : null;
            request.RouteValues = values;
            var evaluator = new AuthorizationEvaluator(TimeProvider.System, budgets: null);
            var decision = route?.Mcp is not null
                ? await Mcp.McpMessageDecider.EvaluateOfflineAsync(evaluator, context, route, cancellationToken)
                : await evaluator.EvaluateAsync(context, route);
            if (guard is not null)
            {
                decision.Refuse(GatewayError.InvalidRequest, guard, "path");
            }

            await using var stdout = Console.OpenStandardOutput();
            await using (var json = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                DecisionJson.Write(json, decision, request.Method, request.Path.Value, DecisionJson.OfflineSkipped);
            }

            await Console.Out.WriteLineAsync();
            return decision.IsAllowed ? 0 : 2;
        });
        return command;
    }
}
