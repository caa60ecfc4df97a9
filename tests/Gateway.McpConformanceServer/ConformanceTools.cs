using System.ComponentModel;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Gateway.McpConformanceServer;

/// <summary>The tools the conformance suite's server scenarios call, each answering as its scenario expects.</summary>
[McpServerToolType]
internal sealed class ConformanceTools
{
    /// <summary>A 1x1 PNG, base64.</summary>
    internal const string Png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

    /// <summary>A WAV file with one sample, base64.</summary>
    private const string Wav = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

    [McpServerTool(Name = "test_simple_text")]
    [Description("Tests simple text content response")]
    public static string SimpleText() => "This is a simple text response for testing.";

    [McpServerTool(Name = "test_image_content")]
    [Description("Tests image content response")]
    public static ImageContentBlock Image() => new() { Data = Encoding.UTF8.GetBytes(Png), MimeType = "image/png" };

    [McpServerTool(Name = "test_audio_content")]
    [Description("Tests audio content response")]
    public static AudioContentBlock Audio() => new() { Data = Encoding.UTF8.GetBytes(Wav), MimeType = "audio/wav" };

    [McpServerTool(Name = "test_embedded_resource")]
    [Description("Tests embedded resource content response")]
    public static EmbeddedResourceBlock EmbeddedResource() => new()
    {
        Resource = new TextResourceContents { Uri = "test://embedded-resource", MimeType = "text/plain", Text = "This is an embedded resource content." },
    };

    [McpServerTool(Name = "test_multiple_content_types")]
    [Description("Tests response with multiple content types (text, image, resource)")]
    public static IEnumerable<ContentBlock> MixedContent() =>
    [
        new TextContentBlock { Text = "Multiple content types test:" },
        new ImageContentBlock { Data = Encoding.UTF8.GetBytes(Png), MimeType = "image/png" },
        new EmbeddedResourceBlock
        {
            Resource = new TextResourceContents { Uri = "test://mixed-content-resource", MimeType = "application/json", Text = """{"test":"data","value":123}""" },
        },
    ];

    [McpServerTool(Name = "test_tool_with_logging")]
    [Description("Tests tool that emits log messages during execution")]
    public static async Task<string> WithLogging(RequestContext<CallToolRequestParams> context, CancellationToken cancellationToken)
    {
        foreach (var line in (string[])["Tool execution started", "Tool processing data", "Tool execution completed"])
        {
            await context.Server.SendNotificationAsync(
                NotificationMethods.LoggingMessageNotification,
                new LoggingMessageNotificationParams { Level = LoggingLevel.Info, Logger = "conformance-server", Data = JsonSerializer.SerializeToElement(line, ConformanceJson.Default.String) },
                cancellationToken: cancellationToken);
            await Task.Delay(50, cancellationToken);
        }

        return "Tool with logging executed successfully";
    }

    [McpServerTool(Name = "test_tool_with_progress")]
    [Description("Tests tool that reports progress notifications")]
    public static async Task<string> WithProgress(RequestContext<CallToolRequestParams> context, CancellationToken cancellationToken)
    {
        if (context.Params?.ProgressToken is not { } token)
        {
            return "No progress token provided";
        }

        foreach (var done in (int[])[0, 50, 100])
        {
            await context.Server.NotifyProgressAsync(token, new ProgressNotificationValue { Progress = done, Total = 100, Message = $"Completed step {done} of 100" }, cancellationToken: cancellationToken);
            if (done < 100)
            {
                await Task.Delay(50, cancellationToken);
            }
        }

        return token.ToString() ?? "";
    }

    [McpServerTool(Name = "test_error_handling")]
    [Description("Tests error response handling")]
    public static string Error() => throw new McpException("This tool intentionally returns an error for testing");

    [McpServerTool(Name = "test_reconnection")]
    [Description("Tests SSE stream disconnection and client reconnection (SEP-1699): the server ends the stream mid-call and sends the result after the client reconnects.")]
    public static async Task<string> Reconnection(RequestContext<CallToolRequestParams> context, CancellationToken cancellationToken)
    {
        await context.EnablePollingAsync(TimeSpan.FromMilliseconds(500), cancellationToken);
        await Task.Delay(100, cancellationToken);
        return "Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure.";
    }

    [McpServerTool(Name = "test_sampling")]
    [Description("Tests server-initiated sampling (LLM completion request)")]
    public static async Task<string> Sampling(
        RequestContext<CallToolRequestParams> context,
        [Description("The prompt to send to the LLM")] string prompt,
        CancellationToken cancellationToken)
    {
        try
        {
            var result = await context.Server.SampleAsync(
                new CreateMessageRequestParams { Messages = [new SamplingMessage { Role = Role.User, Content = [new TextContentBlock { Text = prompt }] }], MaxTokens = 100 },
                cancellationToken);
            return $"LLM response: {result.Content.OfType<TextContentBlock>().FirstOrDefault()?.Text ?? "No response"}";
        }
        catch (McpException e)
        {
            return $"Sampling not supported or error: {e.Message}";
        }
    }

    [McpServerTool(Name = "test_elicitation")]
    [Description("Tests server-initiated elicitation (user input request)")]
    public static Task<string> Elicitation(
        RequestContext<CallToolRequestParams> context,
        [Description("The message to show the user")] string message,
        CancellationToken cancellationToken) =>
        ElicitAsync(context, "User response", new JsonObject
        {
            ["message"] = message,
            ["requestedSchema"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject { ["response"] = new JsonObject { ["type"] = "string", ["description"] = "User's response" } },
                ["required"] = new JsonArray("response"),
            },
        }, cancellationToken);

    [McpServerTool(Name = "test_elicitation_sep1034_defaults")]
    [Description("Tests elicitation with default values per SEP-1034")]
    public static Task<string> ElicitationDefaults(RequestContext<CallToolRequestParams> context, CancellationToken cancellationToken) =>
        ElicitAsync(context, "Elicitation completed", new JsonObject
        {
            ["message"] = "Please review and update the form fields with defaults",
            ["requestedSchema"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["name"] = new JsonObject { ["type"] = "string", ["description"] = "User name", ["default"] = "John Doe" },
                    ["age"] = new JsonObject { ["type"] = "integer", ["description"] = "User age", ["default"] = 30 },
                    ["score"] = new JsonObject { ["type"] = "number", ["description"] = "User score", ["default"] = 95.5 },
                    ["status"] = new JsonObject { ["type"] = "string", ["description"] = "User status", ["enum"] = new JsonArray("active", "inactive", "pending"), ["default"] = "active" },
                    ["verified"] = new JsonObject { ["type"] = "boolean", ["description"] = "Verification status", ["default"] = true },
                },
                ["required"] = new JsonArray(),
            },
        }, cancellationToken);

    [McpServerTool(Name = "test_elicitation_sep1330_enums")]
    [Description("Tests elicitation with enum schema improvements per SEP-1330")]
    public static Task<string> ElicitationEnums(RequestContext<CallToolRequestParams> context, CancellationToken cancellationToken) =>
        ElicitAsync(context, "Elicitation completed", new JsonObject
        {
            ["message"] = "Please select options from the enum fields",
            ["requestedSchema"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["untitledSingle"] = new JsonObject { ["type"] = "string", ["description"] = "Select one option", ["enum"] = new JsonArray("option1", "option2", "option3") },
                    ["titledSingle"] = new JsonObject { ["type"] = "string", ["description"] = "Select one option with titles", ["oneOf"] = Titled("value", "Option") },
                    ["legacyEnum"] = new JsonObject
                    {
                        ["type"] = "string",
                        ["description"] = "Select one option (legacy)",
                        ["enum"] = new JsonArray("opt1", "opt2", "opt3"),
                        ["enumNames"] = new JsonArray("Option One", "Option Two", "Option Three"),
                    },
                    ["untitledMulti"] = new JsonObject
                    {
                        ["type"] = "array",
                        ["description"] = "Select multiple options",
                        ["minItems"] = 1,
                        ["maxItems"] = 3,
                        ["items"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray("option1", "option2", "option3") },
                    },
                    ["titledMulti"] = new JsonObject
                    {
                        ["type"] = "array",
                        ["description"] = "Select multiple options with titles",
                        ["minItems"] = 1,
                        ["maxItems"] = 3,
                        ["items"] = new JsonObject { ["anyOf"] = Titled("value", "Choice") },
                    },
                },
                ["required"] = new JsonArray(),
            },
        }, cancellationToken);

    /// <summary>
    /// A tool whose input schema is JSON Schema 2020-12 with <c>$schema</c>, <c>$defs</c> and
    /// <c>additionalProperties</c>, which a server must list unchanged (SEP-1613).
    /// </summary>
    public static McpServerTool JsonSchema202012Tool()
    {
        var tool = McpServerTool.Create(
            (JsonElement? name, JsonElement? address) => $"JSON Schema 2020-12 tool called with: {{\"name\":{name?.GetRawText() ?? "null"},\"address\":{address?.GetRawText() ?? "null"}}}",
            new McpServerToolCreateOptions { Name = "json_schema_2020_12_tool", Description = "Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)" });
        tool.ProtocolTool.InputSchema = JsonDocument.Parse("""
            {
              "$schema": "https://json-schema.org/draft/2020-12/schema",
              "type": "object",
              "$defs": { "address": { "type": "object", "properties": { "street": { "type": "string" }, "city": { "type": "string" } } } },
              "properties": { "name": { "type": "string" }, "address": { "$ref": "#/$defs/address" } },
              "additionalProperties": false
            }
            """).RootElement.Clone();
        return tool;
    }

    private static JsonArray Titled(string value, string title) =>
    [
        new JsonObject { ["const"] = $"{value}1", ["title"] = $"First {title}" },
        new JsonObject { ["const"] = $"{value}2", ["title"] = $"Second {title}" },
        new JsonObject { ["const"] = $"{value}3", ["title"] = $"Third {title}" },
    ];

    // Raw JSON rather than the SDK's typed schemas: the scenarios check the exact shapes sent, legacy ones included.
    private static async Task<string> ElicitAsync(RequestContext<CallToolRequestParams> context, string label, JsonObject parameters, CancellationToken cancellationToken)
    {
        try
        {
            var response = await context.Server.SendRequestAsync(new JsonRpcRequest { Method = RequestMethods.ElicitationCreate, Params = parameters }, cancellationToken);
            var result = response.Result?.AsObject();
            return $"{label}: action={result?["action"]?.GetValue<string>()}, content={result?["content"]?.ToJsonString() ?? "{}"}";
        }
        catch (McpException e)
        {
            return $"Elicitation not supported or error: {e.Message}";
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class ConformanceJson : System.Text.Json.Serialization.JsonSerializerContext;
