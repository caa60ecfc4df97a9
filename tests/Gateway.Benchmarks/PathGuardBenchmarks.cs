using BenchmarkDotNet.Attributes;
using Gateway.Enforcement;

namespace Gateway.Benchmarks;

/// <summary><see cref="RequestPathGuard.CheckPath"/>, which every request crosses before routing.</summary>
[MemoryDiagnoser]
public class PathGuardBenchmarks
{
    [Params("/crm/customers/42/notes/7", "/crm/customers/J%C3%BCrgen%20M%C3%BCller/notes")]
    public string Path { get; set; } = "";

    [Benchmark]
    public string? CheckPath() => RequestPathGuard.CheckPath(Path);
}
