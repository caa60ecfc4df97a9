using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gateway.FunctionalTests.Infrastructure;

/// <summary>
/// A real Redis Sentinel on loopback watching one master (a <see cref="RedisServer"/>) under a
/// service name, both protected by one password as a production Sentinel set would be. The
/// sentinel is <c>redis-server CONFIG --sentinel</c> with a config file in its own temporary
/// folder (Sentinel rewrites it). Disposing kills both processes by their ids.
/// </summary>
public sealed class RedisSentinel : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);

    private readonly string _directory;
    private readonly Process _process;

    private RedisSentinel(RedisServer master, string directory, Process process, int port, string serviceName, string password)
    {
        Master = master;
        _directory = directory;
        _process = process;
        Port = port;
        ServiceName = serviceName;
        Password = password;
    }

    public RedisServer Master { get; }

    public int Port { get; }

    public string ServiceName { get; }

    public string Password { get; }

    /// <summary>What an operator puts in Gateway__Store__Redis: the sentinel, the service name and the password.</summary>
    public string ConfigurationString => $"127.0.0.1:{Port},serviceName={ServiceName},password={Password}";

    public static async Task<RedisSentinel> StartAsync(string serviceName = "mymaster")
    {
        var password = "p" + Guid.NewGuid().ToString("N");
        var master = await RedisServer.StartAsync();
        var directory = Directory.CreateTempSubdirectory("gateway-sentinel-").FullName;
        Process? process = null;
        try
        {
            // The master takes its password only now: RedisServer's start-up PING is unauthenticated.
            var reply = await master.ExecuteAsync("CONFIG", "SET", "requirepass", password);
            if (reply != "+OK")
            {
                throw new InvalidOperationException($"CONFIG SET requirepass answered {reply}");
            }

            for (var attempt = 1; ; attempt++)
            {
                var port = FreePort();
                var config = Path.Combine(directory, "sentinel.conf");
                await File.WriteAllTextAsync(config, string.Join('\n',
                    $"port {port.ToString(CultureInfo.InvariantCulture)}",
                    "bind 127.0.0.1",
                    $"dir {directory}",
                    $"requirepass {password}",
                    $"sentinel monitor {serviceName} 127.0.0.1 {master.Port.ToString(CultureInfo.InvariantCulture)} 1",
                    $"sentinel auth-pass {serviceName} {password}",
                    $"sentinel down-after-milliseconds {serviceName} 5000",
                    ""));

                process = Launch(config, directory);
                if (await WaitUntilMasterKnownAsync(process, port, serviceName, password, master.Port))
                {
                    return new RedisSentinel(master, directory, process, port, serviceName, password);
                }

                await KillAsync(process);
                process.Dispose();
                process = null;
                if (attempt == 5)
                {
                    throw new InvalidOperationException($"redis-server --sentinel did not start or did not report master {serviceName} within {StartTimeout}.");
                }
            }
        }
        catch
        {
            if (process is not null)
            {
                await KillAsync(process);
                process.Dispose();
            }

            await master.DisposeAsync();
            TryDelete(directory);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync(_process);
        _process.Dispose();
        await Master.DisposeAsync();
        TryDelete(_directory);
    }

    private static Process Launch(string config, string directory)
    {
        var startInfo = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        startInfo.ArgumentList.Add(config);
        startInfo.ArgumentList.Add("--sentinel");
        var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Polls SENTINEL GET-MASTER-ADDR-BY-NAME until the sentinel names the master's port.</summary>
    private static async Task<bool> WaitUntilMasterKnownAsync(Process process, int port, string serviceName, string password, int masterPort)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout && !process.HasExited)
        {
            try
            {
                var reply = await ExecuteAsync(port, password, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", serviceName);
                if (reply.Contains(masterPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal))
                {
                    return true;
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException)
            {
                // Not listening yet.
            }

            await Task.Delay(50);
        }

        return false;
    }

    /// <summary>AUTH, then one command; returns the raw reply to the command.</summary>
    private static async Task<string> ExecuteAsync(int port, string password, params string[] command)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        var request = new StringBuilder();
        foreach (var parts in new[] { new[] { "AUTH", password }, command })
        {
            request.Append('*').Append(parts.Length).Append("\r\n");
            foreach (var part in parts)
            {
                request.Append('$').Append(Encoding.UTF8.GetByteCount(part)).Append("\r\n").Append(part).Append("\r\n");
            }
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var auth = await reader.ReadLineAsync() ?? throw new IOException("the sentinel closed the connection");
        if (auth != "+OK")
        {
            throw new IOException("AUTH answered " + auth);
        }

        // An array of two bulk strings (ip, port), or a null array: read what arrives at once.
        var buffer = new char[512];
        var read = await reader.ReadAsync(buffer);
        return new string(buffer, 0, read);
    }

    private static async Task KillAsync(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: false);
            await process.WaitForExitAsync();
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
