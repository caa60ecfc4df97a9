using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Audit;

/// <summary>Runs <c>gateway audit ...</c> in its own process (see <see cref="GatewayProcess"/>).</summary>
internal static class AuditCli
{
    public static Task<CliResult> RunAsync(params string[] arguments) => GatewayProcess.RunAsync(arguments);
}
