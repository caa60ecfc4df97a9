using System.CommandLine;
using Gateway.Host.Demo;
using Gateway.Policy;

namespace Gateway.Host.Commands;

/// <summary><c>gateway demo</c>: the demo policy, the in-memory store and the demo upstreams in one process.</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var command = new Command("demo", "Run the gateway on the demo policy (config/gateway.yaml) with its CRM and payments upstreams hosted in-process.")
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
                .ToList();
            var apps = await DemoUpstreams.StartAsync(upstreams, cancellationToken);
            try
            {
                await Console.Out.WriteLineAsync($"Demo upstreams: {string.Join(", ", upstreams.Select(u => $"{u.Name} on {u.Item2}"))}");
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
}
