using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Gateway.Admin;

/// <summary>Reads a bounded JSON request body for the admin API, with a sentence when it is not one.</summary>
internal static class AdminJson
{
    public readonly record struct Body(JsonDocument? Document, string? Problem);

    public static async Task<Body> ReadAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return new(null, $"The body is larger than {maxBytes} bytes.");
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return new(null, $"The body is larger than {maxBytes} bytes.");
            }

            buffer.Write(chunk, 0, read);
        }

        try
        {
            var document = JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                document.Dispose();
                return new(null, "The body must be a JSON object.");
            }

            return new(document, null);
        }
        catch (JsonException)
        {
            return new(null, "The body is not valid JSON.");
        }
    }
}
