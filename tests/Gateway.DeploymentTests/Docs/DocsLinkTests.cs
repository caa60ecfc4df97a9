using System.Text.RegularExpressions;

namespace Gateway.DeploymentTests.Docs;

/// <summary>
/// The documentation is self-contained: a reader of a clone can follow every link, no page points
/// at a file that only exists outside the repository, and pages that lean on the external contract
/// link to docs/reference.md, which states it.
/// </summary>
public sealed partial class DocsLinkTests
{
    private static readonly string[] SkippedFolders = ["bin", "obj", ".git", "node_modules", "TestResults"];

    public static TheoryData<string> Pages()
    {
        var data = new TheoryData<string>();
        foreach (var page in MarkdownPages())
        {
            data.Add(page);
        }

        return data;
    }

    [Fact]
    public void Repository_HasTheReferencePage()
    {
        Assert.True(File.Exists(Repository.Path("docs/reference.md")), "docs/reference.md states the external contract; it is missing.");
        Assert.Contains("(docs/reference.md)", Repository.ReadAllText("README.md"), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void Page_LinksOnlyFilesInsideTheRepository(string page)
    {
        var text = Repository.ReadAllText(page);
        var folder = Path.GetDirectoryName(Repository.Path(page))!;
        var root = Path.GetFullPath(Repository.Root) + Path.DirectorySeparatorChar;
        var problems = new List<string>();
        foreach (var target in LinkTargets(text))
        {
            if (IsExternal(target))
            {
                continue;
            }

            var file = target.Split('#')[0];
            if (file.Length == 0)
            {
                continue;
            }

            var resolved = Path.GetFullPath(file.StartsWith('/') ? Path.Combine(Repository.Root, file.TrimStart('/')) : Path.Combine(folder, Uri.UnescapeDataString(file)));
            if (!resolved.StartsWith(root, StringComparison.Ordinal) && resolved + Path.DirectorySeparatorChar != root)
            {
                problems.Add($"{target}: outside the repository");
            }
            else if (!File.Exists(resolved) && !Directory.Exists(resolved))
            {
                problems.Add($"{target}: no such file in the repository");
            }
        }

        Assert.True(problems.Count == 0, page + ":" + Environment.NewLine + string.Join(Environment.NewLine, problems));
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void Page_CitesNoFileOutsideTheRepository(string page)
    {
        var text = Repository.ReadAllText(page);
        var citations = OutsideCitation().Matches(text).Select(m => m.Value).ToList();
        Assert.True(citations.Count == 0, $"{page} cites files a clone does not have: {string.Join(", ", citations)}");
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void Page_ThatCitesTheContract_LinksTheReference(string page)
    {
        if (page == "docs/reference.md")
        {
            return;
        }

        var text = Repository.ReadAllText(page);
        if (!ContractCitation().IsMatch(text))
        {
            return;
        }

        var reference = page.StartsWith("docs/", StringComparison.Ordinal) ? "reference.md" : Path.GetRelativePath(Path.GetDirectoryName(Repository.Path(page))!, Repository.Path("docs/reference.md")).Replace('\\', '/');
        Assert.True(LinkTargets(text).Any(t => t.Split('#')[0] == reference), $"{page} speaks of the contract ('{ContractCitation().Match(text).Value}') but never links {reference}.");
    }

    [Fact]
    public void LinkCheck_ALinkOutOfTheRepository_IsFound()
    {
        // The checks above are only as good as the link reader: it must see these three shapes.
        var targets = LinkTargets("see [the contract](../../shared/spec/CONTRACT.md#2) and [x](<a b.md>)\n[ref]: /work/shared/x.md \"t\"\n").ToList();
        Assert.Equal(["../../shared/spec/CONTRACT.md#2", "a b.md", "/work/shared/x.md"], targets);
        Assert.Matches(OutsideCitation(), "The contract is `CONTRACT.md` section 2");
        Assert.Matches(ContractCitation(), "in the contract's order");
    }

    private static bool IsExternal(string target) =>
        target.StartsWith('#') || Scheme().IsMatch(target);

    private static IEnumerable<string> LinkTargets(string text)
    {
        foreach (Match match in InlineLink().Matches(text))
        {
            yield return match.Groups["angle"].Success ? match.Groups["angle"].Value : match.Groups["plain"].Value;
        }

        foreach (Match match in ReferenceDefinition().Matches(text))
        {
            yield return match.Groups[1].Value;
        }
    }

    private static List<string> MarkdownPages()
    {
        var pending = new Stack<string>([Repository.Root]);
        var pages = new List<string>();
        while (pending.Count > 0)
        {
            var folder = pending.Pop();
            foreach (var sub in Directory.EnumerateDirectories(folder))
            {
                if (!SkippedFolders.Contains(Path.GetFileName(sub)))
                {
                    pending.Push(sub);
                }
            }

            pages.AddRange(Directory.EnumerateFiles(folder, "*.md").Select(f => Path.GetRelativePath(Repository.Root, f).Replace('\\', '/')));
        }

        pages.Sort(StringComparer.Ordinal);
        return pages;
    }

    [GeneratedRegex(@"\]\((?:<(?<angle>[^>]+)>|(?<plain>[^)\s]+))(?:\s+""[^""]*"")?\)")]
    private static partial Regex InlineLink();

    [GeneratedRegex(@"^\s{0,3}\[[^\]]+\]:\s+<?([^\s>]+)>?", RegexOptions.Multiline)]
    private static partial Regex ReferenceDefinition();

    [GeneratedRegex(@"^[a-zA-Z][a-zA-Z0-9+.-]*:")]
    private static partial Regex Scheme();

    [GeneratedRegex(@"CONTRACT\.md|shared/spec|\.\./shared/|/work/[a-z]", RegexOptions.IgnoreCase)]
    private static partial Regex OutsideCitation();

    [GeneratedRegex(@"\b(the contract(?!\s+test)|contract section|contract's(?!\s+test))", RegexOptions.IgnoreCase)]
    private static partial Regex ContractCitation();
}
