using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Gateway.Upstreams;

/// <summary>
/// Posts a token request (RFC 6749 section 3.2) with the client authenticated by <c>client_secret_basic</c>
/// (section 2.3.1, the method every server must support) and reads the access token out of the answer.
/// Transient failures are retried twice with a short backoff, each attempt within a timeout.
/// </summary>
internal sealed class TokenEndpointClient
{
    /// <summary>Longest wait for one attempt. Default 5 seconds.</summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Used when the answer has no <c>expires_in</c> (it is only RECOMMENDED): short enough to be safe.</summary>
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromMinutes(1);

    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline _pipeline;

    public TokenEndpointClient(HttpClient http, TimeProvider time)
    {
        _http = http;
        _time = time;
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = 2,
                Delay = TimeSpan.FromMilliseconds(200),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder().Handle<TokenEndpointException>(e => e.IsTransient).Handle<TimeoutRejectedException>(),
            })
            .AddTimeout(AttemptTimeout)
            .Build();
    }

    /// <summary>The token as an <c>Authorization</c> value, cached until the lifetime the server gave.</summary>
    /// <exception cref="TokenEndpointException">No token; the message says why in the gateway's words.</exception>
    public async Task<CachedToken> RequestAsync(Uri tokenUrl, string clientId, string clientSecret, IReadOnlyList<KeyValuePair<string, string>> form)
    {
        try
        {
            return await _pipeline.ExecuteAsync(
                static async (state, cancellationToken) => await state.Self.SendAsync(state.TokenUrl, state.ClientId, state.ClientSecret, state.Form, cancellationToken),
                (Self: this, TokenUrl: tokenUrl, ClientId: clientId, ClientSecret: clientSecret, Form: form),
                CancellationToken.None);
        }
        catch (TimeoutRejectedException e)
        {
            throw new TokenEndpointException($"the token endpoint did not answer within {AttemptTimeout.TotalSeconds:0} s", e) { IsTransient = true };
        }
        catch (Exception e) when (e is not TokenEndpointException)
        {
            // Whatever else went wrong, callers (and a background refresh nobody awaits) see one exception type.
            throw new TokenEndpointException("the token request failed", e);
        }
    }

    private async Task<CachedToken> SendAsync(Uri tokenUrl, string clientId, string clientSecret, IReadOnlyList<KeyValuePair<string, string>> form, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, tokenUrl) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", BasicCredentials(clientId, clientSecret));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new TokenEndpointException("the token endpoint could not be reached", e) { IsTransient = true };
        }

        using (response)
        {
            var issued = _time.GetUtcNow();
            byte[] body;
            try
            {
                body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            }
            catch (HttpRequestException e)
            {
                throw new TokenEndpointException("the token endpoint's answer was cut short", e) { IsTransient = true };
            }

            if (!response.IsSuccessStatusCode)
            {
                var status = (int)response.StatusCode;
                var code = ErrorCode(body);
                throw new TokenEndpointException($"the token endpoint answered {status}{(code is null ? "" : " " + code)}")
                {
                    IsTransient = status >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests,
                };
            }

            return Parse(body, issued);
        }
    }

    private static CachedToken Parse(byte[] body, DateTimeOffset issued)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (!root.TryGetProperty("access_token", out var accessToken) || accessToken.ValueKind != JsonValueKind.String || accessToken.GetString() is not { Length: > 0 } value)
            {
                throw new TokenEndpointException("the token endpoint's answer has no access_token");
            }

            // RFC 6749 section 7.1: the type decides how the token is presented; only Bearer is sent as is.
            var type = root.TryGetProperty("token_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (!string.Equals(type, "Bearer", StringComparison.OrdinalIgnoreCase))
            {
                throw new TokenEndpointException($"the token endpoint issued a token of type '{Printable(type)}'; only Bearer tokens are presented to upstreams");
            }

            if (value.AsSpan().ContainsAny('\r', '\n', '\0'))
            {
                throw new TokenEndpointException("the token endpoint issued an access_token that cannot be sent in a header");
            }

            var lifetime = root.TryGetProperty("expires_in", out var e) && e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var seconds) && seconds > 0
                ? TimeSpan.FromSeconds(Math.Min(seconds, (long)TimeSpan.FromDays(1).TotalSeconds))
                : DefaultLifetime;
            return CachedToken.Create("Bearer " + value, issued, lifetime);
        }
        catch (JsonException ex)
        {
            throw new TokenEndpointException("the token endpoint's answer is not JSON", ex);
        }
    }

    /// <summary>RFC 6749 section 5.2's <c>error</c>, when it is one of its plain words: a server's free text is never repeated.</summary>
    private static string? ErrorCode(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("error", out var error)
                && error.ValueKind == JsonValueKind.String
                && error.GetString() is { Length: > 0 and <= 40 } code
                && code.All(c => char.IsAsciiLetterLower(c) || c == '_')
                ? code
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Printable(string? type) =>
        type is { Length: > 0 and <= 20 } && type.All(char.IsAsciiLetterOrDigit) ? type : "?";

    /// <summary>Section 2.3.1: each part form-encoded before the two are joined and base64-encoded.</summary>
    private static string BasicCredentials(string clientId, string clientSecret) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.EscapeDataString(clientId) + ":" + Uri.EscapeDataString(clientSecret)));
}
