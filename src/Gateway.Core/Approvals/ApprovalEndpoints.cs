using System.Text.Json;
using Gateway.Admin;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Gateway.Approvals;

/// <summary>
/// <c>GET /approvals?status=pending</c>, <c>GET /approvals/{id}</c>, <c>POST /approvals/{id}/approve</c> and
/// <c>/deny</c> on the admin listener, behind the admin key like every admin call. A browser that asks for
/// <c>text/html</c> gets the approval page instead: a shell without data that asks for the admin key and
/// calls this same JSON API with it, so the key never sits in a URL, a cookie or a link.
/// </summary>
public static class ApprovalEndpoints
{
    private const int MaxListLimit = 500;
    private const int MaxRequestBody = 8 * 1024;

    public static IEndpointRouteBuilder MapGatewayApprovals(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var approvals = endpoints.MapGroup("/approvals").AddEndpointFilter(RequireAdminKeyUnlessPage);
        approvals.MapGet("", ListAsync);
        approvals.MapGet("/{id}", GetAsync);
        approvals.MapPost("/{id}/approve", (HttpContext context, string id, ApprovalService approvals) => DecideAsync(context, id, approve: true, approvals));
        approvals.MapPost("/{id}/deny", (HttpContext context, string id, ApprovalService approvals) => DecideAsync(context, id, approve: false, approvals));
        return endpoints;
    }

    // The page itself holds no data, so it may be fetched without the key; every byte of data comes
    // from the JSON API, which never answers without one.
    private static ValueTask<object?> RequireAdminKeyUnlessPage(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        HttpMethods.IsGet(context.HttpContext.Request.Method) && WantsHtml(context.HttpContext.Request)
            ? next(context)
            : AdminEndpoints.RequireAdminKey(context, next);

    private static async Task<IResult> ListAsync(HttpContext context, ApprovalService approvals, CancellationToken cancellationToken)
    {
        if (WantsHtml(context.Request))
        {
            return ApprovalPage.List();
        }

        var query = context.Request.Query;
        ApprovalState? state = null;
        if (query["status"].ToString() is { Length: > 0 } status)
        {
            if (!ApprovalNames.TryParseState(status, out var parsed))
            {
                return AdminEndpoints.AdminProblem(400, "invalid_request", "status must be pending, approved, denied, used or expired.");
            }

            state = parsed;
        }

        var limit = 100;
        if (query["limit"].ToString() is { Length: > 0 } text && (!int.TryParse(text, out limit) || limit < 1 || limit > MaxListLimit))
        {
            return AdminEndpoints.AdminProblem(400, "invalid_request", $"limit must be a whole number from 1 to {MaxListLimit}.");
        }

        try
        {
            var records = await approvals.ListAsync(state, limit, cancellationToken);
            var now = approvals.Time.GetUtcNow();
            return NoStore(context, Results.Json(new Dictionary<string, object?> { ["approvals"] = records.Select(r => ApprovalJson.Summary(r, now)).ToList() }));
        }
        catch (ApprovalStoreUnavailableException ex)
        {
            return AdminEndpoints.AdminProblem(503, "policy_store_unavailable", ex.Message);
        }
    }

    private static async Task<IResult> GetAsync(HttpContext context, string id, ApprovalService approvals, CancellationToken cancellationToken)
    {
        if (WantsHtml(context.Request))
        {
            return ApprovalPage.Detail(id);
        }

        try
        {
            var record = await approvals.GetAsync(id, cancellationToken);
            if (record is null)
            {
                return AdminEndpoints.AdminProblem(404, "approval_not_found", $"No approval {id} is known (an old one is forgotten after it expires).");
            }

            var budget = await approvals.BudgetAsync(record, cancellationToken);
            return NoStore(context, Results.Json(ApprovalJson.Detail(record, approvals.Time.GetUtcNow(), budget, approvals.Policy.Policy)));
        }
        catch (ApprovalStoreUnavailableException ex)
        {
            return AdminEndpoints.AdminProblem(503, "policy_store_unavailable", ex.Message);
        }
    }

    private static async Task<IResult> DecideAsync(HttpContext context, string id, bool approve, ApprovalService approvals)
    {
        var cancellationToken = context.RequestAborted;
        var caller = context.Features.Get<AdminEndpoints.AdminCaller>()!;
        var (note, problem) = await ReadNoteAsync(context.Request, approve ? "note" : "reason", cancellationToken);
        if (problem is not null)
        {
            return AdminEndpoints.AdminProblem(400, "invalid_request", problem);
        }

        var tokens = context.Request.Headers[ApproverRules.Header];
        if (tokens.Count > 1)
        {
            return AdminEndpoints.AdminProblem(400, "invalid_request", $"Send at most one {ApproverRules.Header} header.");
        }

        try
        {
            var result = await approvals.DecideAsync(id, approve, caller.KeyId, tokens.Count == 1 ? tokens[0] : null, note, cancellationToken);
            if (result.Error is not null)
            {
                return AdminEndpoints.AdminProblem(result.Status, result.Error, result.Detail!);
            }

            var budget = await approvals.BudgetAsync(result.Record!, cancellationToken);
            return NoStore(context, Results.Json(ApprovalJson.Detail(result.Record!, approvals.Time.GetUtcNow(), budget, approvals.Policy.Policy)));
        }
        catch (ApprovalStoreUnavailableException ex)
        {
            return AdminEndpoints.AdminProblem(503, "policy_store_unavailable", ex.Message);
        }
    }

    /// <summary>
    /// An optional JSON body <c>{"note": "..."}</c> (approve) or <c>{"reason": "..."}</c> (deny): no body, an empty one,
    /// or one without the member means no text. Read up to <see cref="MaxRequestBody"/> bytes whatever the framing, so a
    /// chunked body cannot make the admin API hold more.
    /// </summary>
    private static async Task<(string? Note, string? Problem)> ReadNoteAsync(HttpRequest request, string field, CancellationToken cancellationToken)
    {
        if (request.ContentLength is 0 || (request.ContentLength is null && !request.Headers.ContainsKey(HeaderNames.TransferEncoding)))
        {
            return (null, null);
        }

        var tooLarge = $"The body may be at most {MaxRequestBody} bytes.";
        if (request.ContentLength > MaxRequestBody)
        {
            return (null, tooLarge);
        }

        var buffer = new byte[MaxRequestBody + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
        {
            length += read;
        }

        if (length > MaxRequestBody)
        {
            return (null, tooLarge);
        }

        var bytes = buffer.AsMemory(0, length);
        if (bytes.Span.Trim(" \t\r\n"u8).IsEmpty)
        {
            return (null, null);
        }

        var shape = $"The body must be a JSON object such as {{\"{field}\": \"...\"}}.";
        try
        {
            using var json = JsonDocument.Parse(bytes);
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, shape);
            }

            if (!json.RootElement.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return (null, null);
            }

            if (value.ValueKind != JsonValueKind.String)
            {
                return (null, $"'{field}' must be a string.");
            }

            var text = value.GetString()!.Trim();
            return text.Length > ApprovalService.MaxNoteLength
                ? (null, $"'{field}' may be at most {ApprovalService.MaxNoteLength} characters.")
                : (text.Length == 0 ? null : text, null);
        }
        catch (JsonException)
        {
            return (null, shape);
        }
    }

    private static IResult NoStore(HttpContext context, IResult result)
    {
        context.Response.Headers.CacheControl = "no-store";
        return result;
    }

    /// <summary>JSON by default; HTML only when the client ranks text/html above JSON, as a browser navigating does.</summary>
    internal static bool WantsHtml(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var accepted))
        {
            return false;
        }

        double html = 0, json = 0;
        foreach (var media in accepted)
        {
            var quality = media.Quality ?? 1;
            if (media.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase))
            {
                html = Math.Max(html, quality);
            }
            else if (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
            {
                json = Math.Max(json, quality);
            }
        }

        return html > 0 && html > json;
    }
}
