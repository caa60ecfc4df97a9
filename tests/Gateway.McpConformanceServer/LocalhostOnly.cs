namespace Gateway.McpConformanceServer;

/// <summary>
/// DNS-rebinding protection, as the MCP transport asks of a server on localhost: a request whose
/// Host or Origin names anything but a loopback host is refused with 403.
/// </summary>
internal sealed class LocalhostOnly(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var origin = context.Request.Headers.Origin.ToString();
        var originHost = Uri.TryCreate(origin, UriKind.Absolute, out var originUri) ? originUri.Host : null;
        if (!IsLoopback(context.Request.Host.Host) || (origin.Length > 0 && (originHost is null || !IsLoopback(originHost))))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return context.Response.WriteAsync("Host and Origin must name a loopback host.");
        }

        return next(context);
    }

    private static bool IsLoopback(string host) =>
        host is "localhost" or "127.0.0.1" or "[::1]" or "::1";
}
