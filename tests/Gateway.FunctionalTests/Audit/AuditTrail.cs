using System.Text.Json;
using Gateway.FunctionalTests.Infrastructure;

namespace Gateway.FunctionalTests.Audit;

/// <summary>
/// A folder outside the gateway's own (which <see cref="TestGateway"/> deletes when it stops), so the
/// audit trail can be read and verified after the gateway has stopped and flushed it.
/// </summary>
internal sealed class AuditFolder : IDisposable
{
    public AuditFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "gateway-audit-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>The live file the policy names (<c>audit.file</c>).</summary>
    public string LiveFile => System.IO.Path.Combine(Path, "audit", "decisions.jsonl");

    public string NewFolder(string name)
    {
        var folder = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(folder);
        return folder;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The audit tests' policy and readers of what the gateway wrote.</summary>
internal static class AuditTrail
{
    /// <summary>
    /// <see cref="TestPolicies.Default"/> with budgets too large to run out (so traffic decides
    /// nothing by accident) and an audit file.
    /// </summary>
    public static string Policy(string auditFile, string? extraAudit = null) =>
        LargeBudgets(TestPolicies.Default)
        + $"""

        audit:
          file: "{auditFile}"
        {extraAudit}
        """;

    private static string LargeBudgets(string policy)
    {
        const string Steps = "steps: { default: 50 }";
        Assert.Contains(Steps, policy, StringComparison.Ordinal);
        return policy.Replace(Steps, "steps: { default: 1000000 }", StringComparison.Ordinal);
    }

    /// <summary>Every line of the chain that <paramref name="liveFile"/> heads (rotated files first), parsed.</summary>
    public static List<JsonElement> ReadEvents(string liveFile) =>
        [.. Gateway.Audit.JsonLinesAuditSink.GetChainFiles(liveFile)
            .SelectMany(File.ReadAllLines)
            .Where(line => line.Length > 0)
            .Select(line => JsonDocument.Parse(line).RootElement.Clone())];

    /// <summary>Waits (bounded) until the writer has stored an event with this id; the writer works off the request path.</summary>
    public static async Task<JsonElement> WaitForEventAsync(string liveFile, string eventId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            if (File.Exists(liveFile))
            {
                var found = ReadEvents(liveFile).Where(e => e.GetProperty("event_id").GetString() == eventId).ToList();
                if (found.Count > 0)
                {
                    return Assert.Single(found);
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"No audit event {eventId} in {liveFile} within 15 s");
            }

            await Task.Delay(50);
        }
    }
}
