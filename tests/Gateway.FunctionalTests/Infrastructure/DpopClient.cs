namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>Sends a request the way a DPoP client does: <c>Authorization: DPoP TOKEN</c> and the proof(s) given.</summary>
public static class DpopClient
{
    /// <summary>The absolute URL a client calls for <paramref name="path"/>, what it signs as <c>htu</c>.</summary>
    public static string Url(TestGateway gateway, string path) => new Uri(gateway.Address, path).ToString();

    public static Task<HttpResponseMessage> SendAsync(TestGateway gateway, HttpMethod method, string path, string token, string? proof, string scheme = "DPoP") =>
        SendAsync(gateway.Client, method, path, token, proof is null ? [] : [proof], scheme);

    public static Task<HttpResponseMessage> SendAsync(TestGateway gateway, HttpMethod method, string path, string token, string?[] proofs, string scheme = "DPoP") =>
        SendAsync(gateway.Client, method, path, token, proofs, scheme);

    public static Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, string token, string?[] proofs, string scheme = "DPoP")
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.TryAddWithoutValidation("Authorization", $"{scheme} {token}");
        foreach (var proof in proofs)
        {
            request.Headers.TryAddWithoutValidation("DPoP", proof);
        }

        return client.SendAsync(request);
    }
}
