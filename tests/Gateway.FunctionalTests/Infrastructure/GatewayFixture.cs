using System.Net.Http.Headers;
using System.Text.Json;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>One gateway, upstream and issuer shared by the tests of a class.</summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    public TestIssuer Issuer { get; } = new();
    public UpstreamServer Upstream { get; private set; } = null!;
    public TestGateway Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Upstream = await UpstreamServer.StartAsync();
        Gateway = await TestGateway.StartAsync(Issuer, Upstream);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
        Issuer.Dispose();
    }

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token, Action<HttpRequestMessage>? configure = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        configure?.Invoke(request);
        return Gateway.Client.SendAsync(request);
    }

    /// <summary>How many requests the upstream has seen whose path starts with <paramref name="marker"/>.</summary>
    public int ForwardedCount(string marker) => Upstream.Received.Count(r => r.Path.Contains(marker, StringComparison.Ordinal));
}

public static class ProblemAssert
{
    public static async Task<JsonElement> IsProblemAsync(HttpResponseMessage response, int status, string error)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"Expected {status} {error}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var json = JsonDocument.Parse(text).RootElement;
        Assert.Equal(error, json.GetProperty("error").GetString());
        Assert.Equal(status, json.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(json.GetProperty("detail").GetString()));
        Assert.Matches("^[0-9a-f]{32}$|^.+$", json.GetProperty("trace_id").GetString());
        return json;
    }

    public static string Challenge(HttpResponseMessage response) =>
        response.Headers.WwwAuthenticate.Count == 0 ? "" : string.Join(", ", response.Headers.WwwAuthenticate.Select(h => h.ToString()));
}
