using Gateway.Redis;
using StackExchange.Redis;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>One <see cref="RedisServer"/> and one shared multiplexer for a test class (<c>IClassFixture</c>).</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    private RedisServer? _server;
    private IConnectionMultiplexer? _connection;

    public RedisServer Server => _server ?? throw new InvalidOperationException("The fixture is not initialised.");

    /// <summary>Connected as the gateway connects (<see cref="GatewayRedisConnection"/>).</summary>
    public IConnectionMultiplexer Connection => _connection ?? throw new InvalidOperationException("The fixture is not initialised.");

    public async Task InitializeAsync()
    {
        _server = await RedisServer.StartAsync();
        _connection = await GatewayRedisConnection.ConnectAsync(_server.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
