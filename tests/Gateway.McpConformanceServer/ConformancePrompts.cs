using System.ComponentModel;
using System.Text;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Gateway.McpConformanceServer;

/// <summary>The prompts the conformance suite gets: plain, with arguments, with an embedded resource and with an image.</summary>
[McpServerPromptType]
internal sealed class ConformancePrompts
{
    [McpServerPrompt(Name = "test_simple_prompt", Title = "Simple Test Prompt")]
    [Description("A simple prompt without arguments")]
    public static string Simple() => "This is a simple prompt for testing.";

    [McpServerPrompt(Name = "test_prompt_with_arguments", Title = "Prompt With Arguments")]
    [Description("A prompt with required arguments")]
    public static string WithArguments(
        [Description("First test argument")] string arg1,
        [Description("Second test argument")] string arg2) => $"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'";

    [McpServerPrompt(Name = "test_prompt_with_embedded_resource", Title = "Prompt With Embedded Resource")]
    [Description("A prompt that includes an embedded resource")]
    public static IEnumerable<PromptMessage> WithEmbeddedResource([Description("URI of the resource to embed")] string resourceUri) =>
    [
        new() { Role = Role.User, Content = new EmbeddedResourceBlock { Resource = new TextResourceContents { Uri = resourceUri, MimeType = "text/plain", Text = "Embedded resource content for testing." } } },
        new() { Role = Role.User, Content = new TextContentBlock { Text = "Please process the embedded resource above." } },
    ];

    [McpServerPrompt(Name = "test_prompt_with_image", Title = "Prompt With Image")]
    [Description("A prompt that includes image content")]
    public static IEnumerable<PromptMessage> WithImage() =>
    [
        new() { Role = Role.User, Content = new ImageContentBlock { Data = Encoding.UTF8.GetBytes(ConformanceTools.Png), MimeType = "image/png" } },
        new() { Role = Role.User, Content = new TextContentBlock { Text = "Please analyze the image above." } },
    ];
}
