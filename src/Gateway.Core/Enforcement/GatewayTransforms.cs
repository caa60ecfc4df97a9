using Gateway.Upstreams;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Transforms;

namespace Gateway.Enforcement;

public static class GatewayTransforms
{
    /// <summary>
    /// The agent's credentials never reach an upstream: <c>Authorization</c> and <c>DPoP</c> are left out of
    /// every forwarded request, on every route. Done on the outgoing copy rather than by removing them from
    /// the incoming request, so Kestrel can hand a keep-alive connection's repeated <c>Authorization</c>
    /// back as the same string, which is what lets the token digest be remembered (<c>TokenDigestMemo</c>).
    /// </summary>
    public static IReverseProxyBuilder AddGatewayTransforms(this IReverseProxyBuilder builder) =>
        builder.AddTransforms(static context =>
        {
            context.AddRequestHeaderRemove(HeaderNames.Authorization);
            context.AddRequestHeaderRemove(GatewayHeaders.DPoP);

            // After the removals, so a brokered Authorization is the one that goes out. The feature is set only
            // once the call was allowed and its credential obtained, and only on the outgoing copy: the secret
            // never enters the incoming request, where logging or a later component could see it.
            context.AddRequestTransform(static transform =>
            {
                if (transform.HttpContext.Features.Get<UpstreamCredentialFeature>() is { } credential)
                {
                    var headers = transform.ProxyRequest.Headers;
                    headers.Remove(credential.HeaderName);
                    headers.TryAddWithoutValidation(credential.HeaderName, credential.HeaderValue);
                }

                return ValueTask.CompletedTask;
            });
        });
}
