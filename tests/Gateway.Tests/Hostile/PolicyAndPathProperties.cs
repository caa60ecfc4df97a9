using System.Globalization;
using System.Text;
using CsCheck;
using Gateway.Enforcement;
using Gateway.Policy;
using Gateway.Testing;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace Gateway.Tests.Hostile;

/// <summary>The policy loader, the path guard and resource templates under hostile input.</summary>
public sealed class PolicyAndPathProperties(ITestOutputHelper output)
{
    [Fact]
    public void LoadFromText_MutatedDemoPolicy_GivesAPolicyOrPositionedErrorsNeverAnException()
    {
        var config = Path.Combine(RepositoryRoot(), "config");
        var lines = File.ReadAllLines(Path.Combine(config, "gateway.yaml"));
        var mutations = Gen.Select(Gen.Int[0, 9], Gen.Int[0, lines.Length - 1], Gen.Int[0, lines.Length - 1], Gen.String[0, 12]);
        var failed = 0;

        Fuzz.Run(output, "policy-mutated-demo", mutations, 600, m =>
        {
            var yaml = string.Join('\n', Mutate(lines, m.Item1, m.Item2, m.Item3, m.Item4));
            var result = PolicyLoader.LoadFromText(yaml, "gateway.yaml", config);
            if (result.Succeeded)
            {
                Assert.Empty(result.Errors);
                return;
            }

            failed++;
            Assert.NotEmpty(result.Errors);
            Assert.All(result.Errors, e =>
            {
                Assert.Equal("gateway.yaml", e.Location.File);
                Assert.True(e.Location.Line >= 1 && e.Location.Column >= 1, e.ToString());
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
            });
        }, m => $"mutation {m.Item1} lines {m.Item2}/{m.Item3} text '{m.Item4}'");
        output.WriteLine($"{failed} of 600 mutated policies were refused with errors");
    }

    private static readonly Gen<string> HostilePath = Gen.OneOf(
        Gen.Char["/.%\\2fF5cCe0Ea1b;:?#"].Array[0, 30].Select(c => "/" + new string(c)),
        Gen.OneOf("/", "//", "/.", "/..", "/%2e", "/%2E%2e", "/%2f", "/%2F", "/%5c", "/%25", "/%252f", "/%c0%af", "/%e0%80%af", "/%", "/%4", "/%zz", "/a", "/crm", "/%00", "/%7f", "/%c3%a9", "/\\")
            .Array[1, 6].Select(parts => string.Concat(parts)),
        Gen.String[0, 20].Select(s => "/" + s));

    [Fact]
    public void CheckPath_AcceptedPath_HasNoEncodedOrLiteralSlashOrDotTricks()
    {
        Fuzz.Run(output, "path-guard", HostilePath, 20_000, path =>
        {
            if (RequestPathGuard.CheckPath(path) is not null)
            {
                return;
            }

            // Decoding once (what Kestrel does) and once more (what a careless upstream might do) must not
            // change the segments: no new separator, no dot segment, no empty segment.
            var once = PercentDecode(path);
            var twice = PercentDecode(once);
            foreach (var decoded in new[] { path, once, twice })
            {
                Assert.DoesNotContain("//", decoded, StringComparison.Ordinal);
                Assert.DoesNotContain('\\', decoded);
                Assert.DoesNotContain(decoded.Split('/'), s => s is "." or "..");
                Assert.Equal(path.Split('/').Length, decoded.Split('/').Length);
            }
        });
    }

    [Fact]
    public void TryExpand_HostileValues_NeverAddASegment()
    {
        Assert.True(ResourceTemplate.TryParse("crm:region/{query.region}/customer/{customerId}/team/{header.X-Team}", out var template, out _));
        var values = Gen.OneOf(
            Gen.String[0, 12],
            Gen.Char["/\\.*%2fF\u0000\u0085\u2028a"].Array[0, 8].Select(c => new string(c)),
            Gen.OneOf(".", "..", "*", "**", "a/b", "a\\b", "%2F", "\u2215", "\uff0f", ""));

        Fuzz.Run(output, "resource-expand", Gen.Select(values, values, values), 10_000, v =>
        {
            var context = new DefaultHttpContext();
            context.Request.QueryString = QueryString.Create("region", v.Item1);
            context.Request.RouteValues["customerId"] = v.Item2;
            context.Request.Headers["X-Team"] = v.Item3;
            if (!template.TryExpand(context.Request, out var resource, out _))
            {
                return;
            }

            var segments = resource.Split('/');
            Assert.Equal(6, segments.Length);
            Assert.DoesNotContain(segments, s => s.Length == 0 || s is "." or ".." || s.Contains('\\', StringComparison.Ordinal) || s.Contains('*', StringComparison.Ordinal));
        }, v => $"region='{v.Item1}' id='{v.Item2}' team='{v.Item3}'");
    }

    [Fact]
    public void TryExpand_CatchAllHostileValues_FillOnlyWholeSafeSegments()
    {
        Assert.True(ResourceTemplate.TryParse("files:doc/{path}", new CatchAllParameter("path", 1), out var template, out _));
        var values = Gen.OneOf(
            Gen.String[0, 20],
            Gen.Char["/\\.*%;2fF\u0000\u0085\u2028a"].Array[0, 12].Select(c => new string(c)),
            Gen.OneOf("a", ".", "..", "..;", "*", "**", "", "%2F", "a\\b", "\u2215", "\uff0f", "b").Array[1, 5].Select(parts => string.Join('/', parts)));

        Fuzz.Run(output, "resource-expand-catch-all", values, 10_000, value =>
        {
            var context = new DefaultHttpContext();
            context.Request.Path = new PathString("/files/" + value);
            context.Request.RouteValues["path"] = "decoy";
            if (!template.TryExpand(context.Request, out var resource, out _))
            {
                return;
            }

            // The value is the path's tail, whatever the route values say, and every segment of it is one a grant can name.
            Assert.Equal("files:doc/" + value, resource);
            Assert.DoesNotContain(value.Split('/'), s => s.Length == 0 || s is "." or ".." || s.IndexOfAny(['\\', '*', '%']) >= 0 || s.Any(char.IsControl));
        }, value => $"path='{value}'");
    }

    [Fact]
    public void GuardThenCatchAll_AcceptedPath_GivesTheSegmentsADecodingUpstreamReads()
    {
        Assert.True(ResourceTemplate.TryParse("files:{path}", new CatchAllParameter("path", 0), out var template, out _));

        Fuzz.Run(output, "path-guard-catch-all", HostilePath, 20_000, raw =>
        {
            if (RequestPathGuard.CheckPath(raw) is not null)
            {
                return;
            }

            // Kestrel decodes once; the resource is built from that; a careless upstream may decode once more.
            var context = new DefaultHttpContext();
            context.Request.Path = new PathString(PercentDecode(raw));
            if (!template.TryExpand(context.Request, out var resource, out _))
            {
                return;
            }

            var segments = resource["files:".Length..].Split('/');
            var again = PercentDecode(resource["files:".Length..]).Split('/');
            Assert.Equal(raw.Split('/').Length - 1, segments.Length);
            Assert.Equal(segments.Length, again.Length);
            Assert.DoesNotContain(again, s => s.Length == 0 || s is "." or "..");
        });
    }

    private static List<string> Mutate(string[] lines, int kind, int a, int b, string text)
    {
        var copy = lines.ToList();
        switch (kind)
        {
            case 0: copy.RemoveAt(a); break;
            case 1: copy.Insert(a, copy[b]); break;
            case 2: (copy[a], copy[b]) = (copy[b], copy[a]); break;
            case 3: copy[a] = copy[a].Insert(Math.Min(b % (copy[a].Length + 1), copy[a].Length), text); break;
            case 4: copy[a] = " " + copy[a]; break;
            case 5: copy[a] = copy[a].TrimStart(); break;
            case 6: copy[a] = copy[a].Contains(':', StringComparison.Ordinal) ? copy[a][..(copy[a].IndexOf(':', StringComparison.Ordinal) + 1)] + " " + text : text; break;
            case 7: copy.RemoveRange(a, copy.Count - a); break;
            case 8: copy[a] = copy[a].Replace(' ', '\t'); break;
            default: copy.Insert(a, text + ":"); break;
        }

        return copy;
    }

    // Decodes %XX as UTF-8 bytes where they form valid UTF-8 and leaves everything else as it is.
    private static string PercentDecode(string text)
    {
        var bytes = new List<byte>();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '%' && i + 2 < text.Length && byte.TryParse(text.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b))
            {
                bytes.Add(b);
                i += 2;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(text[i].ToString()));
            }
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Gateway.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Gateway.sln not found above " + AppContext.BaseDirectory);
    }
}
