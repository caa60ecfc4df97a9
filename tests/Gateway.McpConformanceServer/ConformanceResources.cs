using System.ComponentModel;
using System.Text;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Gateway.McpConformanceServer;

/// <summary>The resources the conformance suite reads: static text, static binary, a template and a watched resource.</summary>
[McpServerResourceType]
internal sealed class ConformanceResources
{
    [McpServerResource(UriTemplate = "test://static-text", Name = "static-text", Title = "Static Text Resource", MimeType = "text/plain")]
    [Description("A static text resource for testing")]
    public static TextResourceContents StaticText() =>
        new() { Uri = "test://static-text", MimeType = "text/plain", Text = "This is the content of the static text resource." };

    [McpServerResource(UriTemplate = "test://static-binary", Name = "static-binary", Title = "Static Binary Resource", MimeType = "image/png")]
    [Description("A static binary resource (image) for testing")]
    public static BlobResourceContents StaticBinary() =>
        new() { Uri = "test://static-binary", MimeType = "image/png", Blob = Encoding.UTF8.GetBytes(ConformanceTools.Png) };

    [McpServerResource(UriTemplate = "test://template/{id}/data", Name = "template", Title = "Resource Template", MimeType = "application/json")]
    [Description("A resource template with parameter substitution")]
    public static TextResourceContents Template(string id) =>
        new() { Uri = $"test://template/{id}/data", MimeType = "application/json", Text = $$"""{"id":"{{id}}","templateTest":true,"data":"Data for ID: {{id}}"}""" };

    [McpServerResource(UriTemplate = "test://watched-resource", Name = "watched-resource", Title = "Watched Resource", MimeType = "text/plain")]
    [Description("A resource that can be subscribed to")]
    public static TextResourceContents Watched() =>
        new() { Uri = "test://watched-resource", MimeType = "text/plain", Text = "Watched resource content" };
}
