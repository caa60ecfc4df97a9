using System.Globalization;
using System.Text;

// The load harness's upstream: as fast as Kestrel allows, so that what the harness measures is
// the proxy in front of it. Every GET gets the same ~200-byte JSON body; a POST body is read to
// the end (how many bytes arrived is echoed in Upstream-Received-Bytes) and gets the same answer,
// except on the MCP scenario's /bench/mcp, where it is wrapped as the JSON-RPC result of a tools/call.
//   dotnet upstream.dll --urls http://127.0.0.1:5200
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
var app = builder.Build();

var body = Encoding.UTF8.GetBytes(
    """{"id":"item-42","name":"Load test item","owner":"user:alice","status":"active","tags":["bench","load","upstream"],"updated":"2025-01-01T00:00:00Z","notes":"a fixed body of about two hundred bytes, padded"}""");

var mcpResult = Encoding.UTF8.GetBytes(
    """{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"item-42: Load test item, owner user:alice, status active"}],"isError":false}}""");

// The credential scenarios' token endpoint (configs/memory-cred-oauth.sh): a client-credentials answer with a
// one-hour token, so the gateway fetches once and the load measures the cached path, as in production.
var tokenAnswer = Encoding.UTF8.GetBytes("""{"access_token":"load-upstream-token","token_type":"Bearer","expires_in":3600}""");

app.Run(async context =>
{
    var request = context.Request;
    var response = context.Response;
    if (request.Path.StartsWithSegments("/oauth/token", StringComparison.Ordinal))
    {
        response.ContentType = "application/json";
        await response.Body.WriteAsync(tokenAnswer, context.RequestAborted);
        return;
    }

    if (HttpMethods.IsPost(request.Method) || HttpMethods.IsPut(request.Method))
    {
        long received = 0;
        var reader = request.BodyReader;
        while (true)
        {
            var read = await reader.ReadAsync(context.RequestAborted);
            received += read.Buffer.Length;
            reader.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted)
            {
                break;
            }
        }

        response.Headers["Upstream-Received-Bytes"] = received.ToString(CultureInfo.InvariantCulture);
    }

    var answer = request.Path.StartsWithSegments("/bench/mcp", StringComparison.Ordinal) ? mcpResult : body;
    response.StatusCode = StatusCodes.Status200OK;
    response.ContentType = "application/json";
    response.ContentLength = answer.Length;
    await response.Body.WriteAsync(answer, context.RequestAborted);
});

app.Run();
