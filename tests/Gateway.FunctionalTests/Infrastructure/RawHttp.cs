using System.Net.Sockets;
using System.Text;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>
/// Sends a request exactly as written over a plain socket. HttpClient normalises dot segments
/// and rejects malformed headers, which is precisely what the hostile-path tests must bypass.
/// </summary>
public static class RawHttp
{
    public static async Task<RawResponse> SendAsync(Uri address, string request)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(address.Host, address.Port, timeout.Token);
        await using var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request), timeout.Token);
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        while (true)
        {
            var read = await stream.ReadAsync(chunk, timeout.Token);
            if (read == 0)
            {
                break;
            }

            buffer.Write(chunk, 0, read);
            if (RawResponse.TryParse(buffer.ToArray(), out _))
            {
                break;
            }
        }

        _ = RawResponse.TryParse(buffer.ToArray(), out var response);
        return response ?? throw new InvalidOperationException("No complete HTTP response: " + Encoding.Latin1.GetString(buffer.ToArray()));
    }

    public static Task<RawResponse> GetAsync(Uri address, string target, string? authorization = null)
    {
        var request = new StringBuilder()
            .Append("GET ").Append(target).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(address.Authority).Append("\r\n");
        if (authorization is not null)
        {
            request.Append("Authorization: ").Append(authorization).Append("\r\n");
        }

        request.Append("Connection: close\r\n\r\n");
        return SendAsync(address, request.ToString());
    }
}

public sealed record RawResponse(int Status, string Headers, string Body)
{
    public static bool TryParse(byte[] bytes, out RawResponse? response)
    {
        response = null;
        var text = Encoding.Latin1.GetString(bytes);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return false;
        }

        var head = text[..end];
        var body = text[(end + 4)..];
        var lengthLine = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        if (lengthLine is not null && body.Length < int.Parse(lengthLine["Content-Length:".Length..].Trim()))
        {
            return false;
        }

        response = new RawResponse(int.Parse(head.Split(' ')[1]), head, body);
        return true;
    }
}
