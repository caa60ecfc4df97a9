using StackExchange.Redis;

namespace Gateway.Redis;

/// <summary>Builds the one multiplexer the gateway shares between its Redis-backed stores.</summary>
public static class GatewayRedisConnection
{
    /// <summary>
    /// Parses a StackExchange.Redis configuration string (<c>gateway.redis</c>) and then forces the two
    /// settings the stores rely on, whatever the string says.
    /// </summary>
    public static ConfigurationOptions CreateOptions(string configuration)
    {
        ArgumentException.ThrowIfNullOrEmpty(configuration);
        var options = ConfigurationOptions.Parse(configuration);

        // Start, and keep running, with Redis down: /readyz says so, calls get 503, and the multiplexer
        // reconnects by itself when Redis is back.
        options.AbortOnConnectFail = false;

        // While disconnected, fail a command at once instead of queueing it: the caller has answered 503
        // long before a queued charge would run, and running it then would spend budget on a refused call.
        options.BacklogPolicy = BacklogPolicy.FailFast;
        return options;
    }

    /// <summary>Connects with <see cref="CreateOptions"/>; returns even when Redis is not reachable yet.</summary>
    public static async Task<IConnectionMultiplexer> ConnectAsync(string configuration) =>
        await ConnectionMultiplexer.ConnectAsync(CreateOptions(configuration));
}
