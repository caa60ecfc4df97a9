namespace Gateway.Tests.Audit;

/// <summary>A temporary folder for audit files, deleted afterwards.</summary>
internal sealed class AuditTestFolder : IDisposable
{
    public AuditTestFolder() => Path = Directory.CreateTempSubdirectory("gateway-audit-tests-").FullName;

    public string Path { get; }

    public string LiveFile => System.IO.Path.Combine(Path, "decisions.jsonl");

    public string File(string name) => System.IO.Path.Combine(Path, name);

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
