using BenchmarkDotNet.Attributes;
using Gateway.Enforcement;
using Microsoft.AspNetCore.Http;

namespace Gateway.Benchmarks;

/// <summary>
/// What the audit outcome costs a forwarded call: the write-through digest put in front of the response body, the
/// body written through it as YARP would (one write per 64 KiB), and its hex digest, against the same writes without it.
/// </summary>
[MemoryDiagnoser]
public class ResponseDigestBenchmarks
{
    private readonly DefaultHttpContext _context = new();
    private byte[] _body = [];

    /// <summary>An 11-byte JSON answer, a 1.5 KiB record, a 64 KiB page, a 1 MiB export.</summary>
    [Params(11, 1_532, 65_536, 1_048_576)]
    public int Bytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _body = new byte[Bytes];
        new Random(7).NextBytes(_body);
        _context.Response.Body = Stream.Null;
    }

    [Benchmark(Baseline = true)]
    public async Task WithoutDigest() => await WriteAsync(_context.Response.Body);

    [Benchmark]
    public async Task<string?> WithDigest()
    {
        var response = _context.Response;
        var digest = ResponseBodyDigest.Install(response);
        await WriteAsync(response.Body);
        var hex = digest.Hex();
        digest.Uninstall(response);
        digest.Dispose();
        return hex;
    }

    private async Task WriteAsync(Stream body)
    {
        for (var offset = 0; offset < _body.Length; offset += 65_536)
        {
            await body.WriteAsync(_body.AsMemory(offset, Math.Min(65_536, _body.Length - offset)));
        }
    }
}
