using System.CommandLine;
using System.Security.Cryptography;
using Gateway.Admin;
using Gateway.Host.Demo;
using Gateway.Policy;

namespace Gateway.Host.Commands;

/// <summary><c>gateway demo</c>: the demo policy, the in-memory store, the demo upstreams and the support MCP server in one process.</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var command = new Command("demo", "Run the gateway on the demo policy (config/gateway.yaml) with its CRM and payments upstreams and its support MCP server hosted in-process.")
        {
            ServeCommand.Config,
            ServeCommand.Urls,
            ServeCommand.AdminUrls,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var options = ServeCommand.Options(result);
            var loaded = PolicyLoader.Load(options.ConfigPath);
            if (loaded.Policy is null)
            {
                foreach (var error in loaded.Errors)
                {
                    await Console.Error.WriteLineAsync(error.ToString());
                }

                return 1;
            }

            var upstreams = loaded.Policy.Upstreams.Values
                .SelectMany(u => u.Destinations.Select(d => (u.Name, d.GetLeftPart(UriPartial.Authority))))
                .DistinctBy(u => u.Item2, StringComparer.OrdinalIgnoreCase)
                .ToList();
            // The upstream named "support" is the demo's MCP server; every other one is an echo API.
            var apps = new List<WebApplication>();
            try
            {
                apps.AddRange(await DemoUpstreams.StartAsync(upstreams.Where(u => u.Name != SupportMcpServer.UpstreamName), cancellationToken));
                foreach (var (name, url) in upstreams.Where(u => u.Name == SupportMcpServer.UpstreamName))
                {
                    apps.Add(await StartSupportAsync(name, url, cancellationToken));
                }
            }
            catch (DemoUpstreamInUseException ex)
            {
                foreach (var app in apps)
                {
                    await app.DisposeAsync();
                }

                await Console.Error.WriteLineAsync(StartupProblems.UpstreamInUse(ex.Name, ex.Url));
                return 1;
            }

            try
            {
                await Console.Out.WriteLineAsync($"Demo upstreams: {string.Join(", ", upstreams.Select(u => $"{u.Name} on {u.Item2}"))}");
                options = WithAdminKey(options, loaded.Policy);
                return await ServeCommand.RunAsync(options, cancellationToken);
            }
            finally
            {
                foreach (var app in apps)
                {
                    await app.DisposeAsync();
                }
            }
        });
        return command;
    }

    private static async Task<WebApplication> StartSupportAsync(string name, string url, CancellationToken cancellationToken)
    {
        try
        {
            return await SupportMcpServer.StartAsync(url, new SupportDesk(), cancellationToken);
        }
        catch (IOException ex) when (StartupProblems.IsAddressInUse(ex))
        {
            throw new DemoUpstreamInUseException(name, url, ex);
        }
    }

    /// <summary>
    /// The tour's admin steps need a key. A demo started without one would silently refuse every admin call,
    /// so it makes a key for this run and prints it, with how to choose one instead. A policy that lists
    /// admin keys of its own is left alone: its operator has chosen.
    /// </summary>
    private static GatewayStartOptions WithAdminKey(GatewayStartOptions options, GatewayPolicy policy)
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(AdminKeyAuthenticator.EnvironmentVariable)) || policy.Admin.KeySha256.Count > 0)
        {
            return options;
        }

        var key = "demo-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var admin = string.Join(" ", options.AdminUrls ?? policy.Admin.Urls);
        Console.Out.WriteLine($"GATEWAY_ADMIN_KEY is not set, so this demo made an admin key for this run: {key}");
        Console.Out.WriteLine($"  The admin API on {admin} accepts 'Authorization: Bearer {key}'. Set GATEWAY_ADMIN_KEY to choose the key yourself.");
        var settings = new Dictionary<string, string?>(options.Settings) { [AdminKeyAuthenticator.EnvironmentVariable] = key };
        return options with { Settings = settings };
    }
}
