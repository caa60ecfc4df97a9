using System.CommandLine;
using Gateway.Policy;

namespace Gateway.Host.Commands;

internal static class ServeCommand
{
    public static readonly Option<string> Config = new("--config")
    {
        Description = "Policy file or folder of policy files.",
        DefaultValueFactory = _ => Path.Combine("config", "gateway.yaml"),
    };

    public static readonly Option<string?> Urls = new("--urls")
    {
        Description = "Proxy listener URLs, separated by ';' (default http://127.0.0.1:8080).",
    };

    public static readonly Option<string?> AdminUrls = new("--admin-urls")
    {
        Description = "Admin listener URLs, separated by ';' (default: admin.urls of the policy).",
    };

    public static Command Create()
    {
        var command = new Command("serve", "Run the gateway with a policy.") { Config, Urls, AdminUrls };
        command.SetAction((result, cancellationToken) => RunAsync(Options(result), cancellationToken));
        return command;
    }

    public static GatewayStartOptions Options(ParseResult result) => new()
    {
        ConfigPath = result.GetValue(Config)!,
        Urls = Split(result.GetValue(Urls)) ?? ["http://127.0.0.1:8080"],
        AdminUrls = Split(result.GetValue(AdminUrls)),
    };

    public static async Task<int> RunAsync(GatewayStartOptions options, CancellationToken cancellationToken)
    {
        GatewayServer app;
        try
        {
            app = GatewayApp.Build(options);
        }
        catch (PolicyLoadException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }
        catch (FileNotFoundException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }
        catch (InvalidOperationException ex)
        {
            // Configuration that cannot work (an unknown store kind, say): one line, not a stack trace.
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }

        await using (app)
        {
            try
            {
                await app.RunAsync(cancellationToken);
            }
            catch (ListenerInUseException ex)
            {
                await Console.Error.WriteLineAsync(StartupProblems.AddressInUse(ex.Url, ex.IsAdmin ? "--admin-urls (or admin.urls in the policy)" : "--urls"));
                return 1;
            }
        }

        return 0;
    }

    internal static string[]? Split(string? urls) =>
        string.IsNullOrWhiteSpace(urls) ? null : urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
