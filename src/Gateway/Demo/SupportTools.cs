using System.ComponentModel;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Gateway.Host.Demo;

/// <summary>The support server's tools. Each records its call on the <see cref="SupportDesk"/> before it acts.</summary>
[McpServerToolType]
internal sealed class SupportTools(SupportDesk desk)
{
    [McpServerTool(Name = "create_ticket", Destructive = false, Idempotent = false)]
    [Description("Open a support ticket in a queue.")]
    public string CreateTicket(
        RequestContext<CallToolRequestParams> context,
        [Description("The queue, such as billing or shipping.")] string queue,
        [Description("A one-line summary of the problem.")] string title,
        [Description("low, normal or urgent.")] string priority = "normal")
    {
        Record(context);
        var ticket = desk.Create(queue, title, priority);
        return JsonSerializer.Serialize(ticket, SupportJson.Default.SupportTicket);
    }

    [McpServerTool(Name = "get_ticket", ReadOnly = true)]
    [Description("Read one support ticket by its id.")]
    public string GetTicket(
        RequestContext<CallToolRequestParams> context,
        [Description("The ticket id, such as T-1001.")] string id)
    {
        Record(context);
        var ticket = desk.Find(id) ?? throw new McpException($"There is no ticket {id}.");
        return JsonSerializer.Serialize(ticket, SupportJson.Default.SupportTicket);
    }

    [McpServerTool(Name = "close_ticket", Destructive = true, Idempotent = true)]
    [Description("Close a support ticket with a resolution.")]
    public string CloseTicket(
        RequestContext<CallToolRequestParams> context,
        [Description("The ticket id, such as T-1001.")] string id,
        [Description("Why the ticket is closed.")] string reason)
    {
        Record(context);
        var ticket = desk.Close(id, reason) ?? throw new McpException($"There is no ticket {id}.");
        return JsonSerializer.Serialize(ticket, SupportJson.Default.SupportTicket);
    }

    [McpServerTool(Name = "export_queue", ReadOnly = true)]
    [Description("Export every ticket of a queue, reporting progress as it goes.")]
    public async Task<string> ExportQueue(
        RequestContext<CallToolRequestParams> context,
        [Description("The queue to export.")] string queue,
        [Description("How many steps the export takes (1 to 20).")] int steps = 3,
        CancellationToken cancellationToken = default)
    {
        Record(context);
        steps = Math.Clamp(steps, 1, 20);
        for (var step = 1; step <= steps; step++)
        {
            // Awaited, unlike an IProgress<T> report, so that the steps reach the client in order and before the result.
            if (context.Params?.ProgressToken is { } token)
            {
                await context.Server.NotifyProgressAsync(token, new ProgressNotificationValue { Progress = step, Total = steps, Message = $"Exported part {step} of {steps} of queue {queue}" }, cancellationToken: cancellationToken);
            }

            await desk.AfterExportStep(step, steps, cancellationToken);
        }

        return JsonSerializer.Serialize(desk.InQueue(queue), SupportJson.Default.IReadOnlyListSupportTicket);
    }

    private void Record(RequestContext<CallToolRequestParams> context) =>
        desk.Record(context.Params?.Name ?? "", context.Params?.Arguments, context.Params?.Meta);
}

/// <summary>The support server's knowledge base, one resource per article.</summary>
[McpServerResourceType]
internal sealed class SupportKnowledgeBase
{
    private static readonly Dictionary<string, string> Articles = new(StringComparer.Ordinal)
    {
        ["refunds"] = "# Refunds\n\nRefunds go back to the original payment method within five working days.",
        ["shipping"] = "# Shipping\n\nOrders ship within two working days; tracking numbers arrive by e-mail.",
    };

    [McpServerResource(UriTemplate = "support://kb/{slug}", Name = "kb_article", MimeType = "text/markdown")]
    [Description("A knowledge-base article by its slug, such as refunds or shipping.")]
    public static string Article(string slug) =>
        Articles.TryGetValue(slug, out var text) ? text : throw new McpException($"There is no article {slug}.");
}

/// <summary>The support server's prompts.</summary>
[McpServerPromptType]
internal sealed class SupportPrompts
{
    [McpServerPrompt(Name = "triage")]
    [Description("Ask the model to triage a ticket: its queue, urgency and next step.")]
    public static string Triage([Description("The ticket id, such as T-1001.")] string ticket_id) =>
        $"Triage support ticket {ticket_id}: read it with get_ticket, say which queue it belongs in, how urgent it is, and what to do next.";
}
