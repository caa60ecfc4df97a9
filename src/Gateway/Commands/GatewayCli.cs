using System.CommandLine;

namespace Gateway.Host.Commands;

/// <summary>The command line of the contract (section 1): one sub-command per verb.</summary>
internal static class GatewayCli
{
    public static Task<int> InvokeAsync(string[] args)
    {
        var root = new RootCommand("Gateway: the agent capability gateway. Validates capability tokens, enforces route policy and proxies allowed calls.")
        {
            ServeCommand.Create(),
            DemoCommand.Create(),
            ValidateCommand.Create(),
            ExplainCommand.Create(),
            TokenCommand.Create(),
            KeysCommand.Create(),
            AuditCommand.Create(),
            TestCommand.Create(),
            DiffCommand.Create(),
        };
        return root.Parse(args).InvokeAsync();
    }
}
