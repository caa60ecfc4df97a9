using Gateway.Policy;

namespace Gateway.Tests.Policy;

/// <summary>Misindented YAML, the commonest hand-editing mistake, is reported with what to do, not only the parser's state.</summary>
public sealed class PolicyLoaderIndentationTests
{
    private static PolicyLoadResult Load(string yaml) => PolicyLoader.LoadFromText(yaml, "gateway.yaml", Path.GetTempPath());

    [Fact]
    public void LoadFromText_SectionIndentedLessThanItsSiblings_SaysToLineUpTheKeys()
    {
        var result = Load("gateway:\n  audience: https://g.example\n issuers:\n  - issuer: x\n");

        PolicyAssert.SingleError(result, 3, 2, "did not find expected key (check the indentation of line 3 and the line above it: the keys of one section start in the same column");
    }

    [Fact]
    public void LoadFromText_KeyIndentedUnderAValue_SaysItReadsAsPartOfThatValue()
    {
        var result = Load("gateway:\n  audience: https://g.example\n    clock_skew: 30s\n");

        PolicyAssert.SingleError(result, 3, 15, "(line 3 is indented further than the key above it, so it reads as part of that key's value");
    }

    [Fact]
    public void LoadFromText_ListItemKeyOutOfLine_SaysHowListItemsLineUp()
    {
        var result = Load("routes:\n  - id: a\n   upstream: b\n");

        PolicyAssert.SingleError(result, 3, 4, "(line 3 is inside a list but lines up with no item: in a list every item starts with '- ' in the same column");
    }
}
