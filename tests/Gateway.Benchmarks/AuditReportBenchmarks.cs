using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Gateway.Audit;
using Gateway.Reporting;

namespace Gateway.Benchmarks;

/// <summary>
/// <see cref="AuditReportBuilder.Build"/> (what <c>gateway audit report</c> runs) over one million events in the writer's
/// canonical form: 200 agents, 5,000 tokens with two grant entries each, a mix of allowed, refused and shadow decisions.
/// The log is written once per run into the temp folder (about 1 GB) and deleted afterwards.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class AuditReportBenchmarks
{
    private const int Events = 1_000_000;
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly AuditDecision[] Decisions =
    [
        AuditDecision.Allow, AuditDecision.Allow, AuditDecision.Allow, AuditDecision.Allow, AuditDecision.Allow,
        AuditDecision.Allow, AuditDecision.Deny, AuditDecision.Deny, AuditDecision.ShadowDeny, AuditDecision.Allow,
    ];
    private static readonly string?[] Errors = [null, null, null, null, null, null, "insufficient_scope", "step_limit_exceeded", "insufficient_scope", null];

    private string _folder = null!;
    private string[] _files = null!;

    [GlobalSetup]
    public void Setup()
    {
        _folder = Path.Combine(Path.GetTempPath(), $"gateway-audit-report-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(_folder);
        var path = Path.Combine(_folder, "audit-1m.jsonl");
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            for (var n = 0; n < Events; n++)
            {
                stream.Write(AuditEventSerializer.ToCanonicalJson(Event(n)));
                stream.WriteByte((byte)'\n');
            }
        }

        _files = [path];
        Console.WriteLine($"// audit log: {Events:N0} events, {new FileInfo(path).Length:N0} bytes");
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_folder, recursive: true);

    [Benchmark]
    public int OneMillionEvents() => AuditReportBuilder.Build(_files, since: null, Now).Agents.Count;

    private static AuditEvent Event(int n)
    {
        var token = n % 5_000;
        var agent = token % 200;
        var kind = n % Decisions.Length;
        return new AuditEvent
        {
            EventId = $"{n:x32}",
            Time = Now - TimeSpan.FromMilliseconds((Events - n) * 50L),
            Decision = Decisions[kind],
            Error = Errors[kind],
            Route = $"crm-route-{n % 20}",
            Action = $"crm.customers:{(n % 3 == 0 ? "update" : "read")}",
            Resource = $"crm:customer/{n % 1000}",
            Risk = 1 + (n % 5),
            Tier = "low",
            Status = kind is 6 or 7 ? 403 : 200,
            TraceId = $"{n:x32}",
            Token = new AuditToken
            {
                Jti = $"jti-{token}",
                Issuer = "https://idp.example",
                Subject = $"user:{token % 1000}",
                Agent = $"agent:{agent}",
                Grants =
                [
                    new AuditGrant(["crm.customers:read", "crm.customers:update"], ["crm:customer/*"]),
                    new AuditGrant([$"crm.notes:{agent % 7}"], [$"crm:note/{agent}/*"]),
                ],
            },
            Request = new AuditRequest { Method = "GET", Path = $"/customers/{n % 1000}" },
        };
    }
}
