using BenchmarkDotNet.Attributes;
using Gateway.Policy;
using Microsoft.AspNetCore.Http;

namespace Gateway.Benchmarks;

/// <summary><see cref="ResourceTemplate.TryExpand"/>: the concrete resource built per request from route values, query and headers.</summary>
[MemoryDiagnoser]
public class ResourceTemplateBenchmarks
{
    private ResourceTemplate _onePlaceholder = null!;
    private ResourceTemplate _twoPlaceholders = null!;
    private ResourceTemplate _header = null!;
    private ResourceTemplate _catchAll = null!;
    private HttpRequest _request = null!;

    [GlobalSetup]
    public void Setup()
    {
        _onePlaceholder = Parse("crm:customer/{customerId}");
        _twoPlaceholders = Parse("crm:customer/{customerId}/note/{noteId}");
        _header = Parse("payments:account/{header.X-Account-Id}");
        _catchAll = ResourceTemplate.TryParse("files:doc/{path}", new CatchAllParameter("path", 1), out var catchAll, out var error)
            ? catchAll
            : throw new ArgumentException(error);
        var context = new DefaultHttpContext();
        context.Request.RouteValues["customerId"] = "42";
        context.Request.RouteValues["noteId"] = "7";
        context.Request.Headers["X-Account-Id"] = "acct-1001";
        context.Request.Path = new PathString("/files/public/reports/2026/q1.pdf");
        _request = context.Request;
    }

    [Benchmark(Baseline = true)]
    public string? OneRouteValue() => _onePlaceholder.TryExpand(_request, out var resource, out _) ? resource : null;

    [Benchmark]
    public string? TwoRouteValues() => _twoPlaceholders.TryExpand(_request, out var resource, out _) ? resource : null;

    [Benchmark]
    public string? OneHeader() => _header.TryExpand(_request, out var resource, out _) ? resource : null;

    /// <summary>A catch-all route's four segments (<c>/files/{**path}</c>), each checked.</summary>
    [Benchmark]
    public string? CatchAllFourSegments() => _catchAll.TryExpand(_request, out var resource, out _) ? resource : null;

    private static ResourceTemplate Parse(string text) =>
        ResourceTemplate.TryParse(text, out var template, out var error) ? template : throw new ArgumentException(error);
}
