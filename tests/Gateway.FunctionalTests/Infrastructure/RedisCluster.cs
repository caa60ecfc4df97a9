using System.Diagnostics;
using System.Globalization;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>
/// A real Redis Cluster on loopback: N <c>redis-server --cluster-enabled yes</c> processes (each a
/// <see cref="RedisServer"/> on a free port, with its own folder and nodes file), joined by
/// <c>redis-cli --cluster create</c> as masters with no replicas. Disposing kills every process
/// by its id.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private static readonly TimeSpan CreateTimeout = TimeSpan.FromSeconds(60);

    private readonly List<RedisServer> _nodes;

    private RedisCluster(List<RedisServer> nodes) => _nodes = nodes;

    public IReadOnlyList<RedisServer> Nodes => _nodes;

    /// <summary>Only the first node: the client must discover the others from it, as it does in production.</summary>
    public string ConfigurationString => _nodes[0].ConnectionString;

    /// <summary>Why a cluster cannot be started here, or null when it can (redis-cli with <c>--cluster</c> support).</summary>
    public static string? UnavailableReason { get; } = FindUnavailableReason();

    public static async Task<RedisCluster> StartAsync(int masters = 3)
    {
        var nodes = new List<RedisServer>();
        var cluster = new RedisCluster(nodes);
        try
        {
            for (var i = 0; i < masters; i++)
            {
                // The cluster bus listens on port + 10000, so a node on a port above 55535 cannot
                // start; RedisServer then tries another free port.
                nodes.Add(await RedisServer.StartAsync(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"]));
            }

            var arguments = new List<string> { "--cluster", "create" };
            arguments.AddRange(nodes.Select(n => n.ConnectionString));
            arguments.AddRange(["--cluster-replicas", "0", "--cluster-yes"]);
            var (exitCode, output) = await RunRedisCliAsync(arguments, CreateTimeout);
            if (exitCode != 0 || !output.Contains("All 16384 slots covered", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"redis-cli --cluster create failed (exit {exitCode}):{Environment.NewLine}{output}");
            }

            await cluster.WaitUntilEveryNodeSeesAHealthyClusterAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }

    private async Task WaitUntilEveryNodeSeesAHealthyClusterAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var states = await Task.WhenAll(_nodes.Select(n => n.ExecuteAsync("CLUSTER", "INFO")));
            var known = await Task.WhenAll(_nodes.Select(n => n.ExecuteAsync("CLUSTER", "NODES")));
            if (states.All(s => s.Contains("cluster_state:ok", StringComparison.Ordinal))
                && known.All(k => k.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == _nodes.Count))
            {
                return;
            }

            if (deadline.Elapsed > CreateTimeout)
            {
                throw new InvalidOperationException("The cluster did not reach cluster_state:ok on every node:" + Environment.NewLine + string.Join(Environment.NewLine, states));
            }

            await Task.Delay(100);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunRedisCliAsync(IEnumerable<string> arguments, TimeSpan timeout)
    {
        var startInfo = new ProcessStartInfo("redis-cli")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("redis-cli did not start.");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: false);
            throw new TimeoutException($"redis-cli {string.Join(' ', arguments)} did not finish within {timeout}.");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static string? FindUnavailableReason()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        if (!path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Any(folder => File.Exists(Path.Combine(folder, "redis-cli"))))
        {
            return "redis-cli is not installed (it comes with redis-server: apt-get install redis-server), so no Redis Cluster can be created here.";
        }

        try
        {
            // Older redis-cli builds (before Redis 5) have no cluster manager; `--cluster help` lists its commands.
            var (_, output) = RunRedisCliAsync(["--cluster", "help"], TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
            return output.Contains("create", StringComparison.Ordinal)
                ? null
                : "this redis-cli has no `--cluster create` (Redis 5 or newer is needed), so no Redis Cluster can be created here.";
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or TimeoutException)
        {
            return "redis-cli could not be run: " + ex.Message;
        }
    }

    /// <summary>Slots 0-16383 owned by each node, from CLUSTER NODES (port to slot count).</summary>
    public async Task<IReadOnlyDictionary<int, int>> SlotsPerNodeAsync()
    {
        var result = new Dictionary<int, int>();
        foreach (var line in (await _nodes[0].ExecuteAsync("CLUSTER", "NODES")).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // <id> <ip:port@cport> <flags> <master> <ping> <pong> <epoch> <state> <slot ranges...>
            var fields = line.Split(' ');
            var port = int.Parse(fields[1].Split('@')[0].Split(':')[^1], CultureInfo.InvariantCulture);
            var slots = 0;
            foreach (var range in fields.Skip(8))
            {
                var bounds = range.Split('-');
                slots += bounds.Length == 2
                    ? int.Parse(bounds[1], CultureInfo.InvariantCulture) - int.Parse(bounds[0], CultureInfo.InvariantCulture) + 1
                    : 1;
            }

            result[port] = slots;
        }

        return result;
    }
}

/// <summary>A fact that needs <see cref="RedisCluster"/>; skipped, with the reason, only where redis-cli cannot create one.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RedisClusterFactAttribute : FactAttribute
{
    public RedisClusterFactAttribute()
    {
        if (RedisCluster.UnavailableReason is { } reason)
        {
            Skip = reason;
        }
    }
}
