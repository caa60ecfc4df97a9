using Gateway.Policy;

namespace Gateway.Tests.Policy;

internal static class PolicyAssert
{
    /// <summary>The load failed with exactly one error, at this place, saying this.</summary>
    public static PolicyError SingleError(PolicyLoadResult result, int line, int column, string fragment)
    {
        Assert.Null(result.Policy);
        var error = Assert.Single(result.Errors);
        AssertError(error, line, column, fragment);
        return error;
    }

    /// <summary>Among the errors there is one at this place saying this.</summary>
    public static void HasError(PolicyLoadResult result, int line, int column, string fragment)
    {
        Assert.Null(result.Policy);
        Assert.True(
            result.Errors.Any(e => e.Location.Line == line && e.Location.Column == column && e.Message.Contains(fragment, StringComparison.Ordinal)),
            $"expected an error at {line}:{column} containing \"{fragment}\"; got:{Environment.NewLine}{string.Join(Environment.NewLine, result.Errors)}");
    }

    public static GatewayPolicy Loaded(PolicyLoadResult result)
    {
        Assert.True(result.Succeeded, string.Join(Environment.NewLine, result.Errors));
        Assert.Empty(result.Errors);
        return result.Policy;
    }

    private static void AssertError(PolicyError error, int line, int column, string fragment)
    {
        Assert.True(
            error.Location.Line == line && error.Location.Column == column && error.Message.Contains(fragment, StringComparison.Ordinal),
            $"expected an error at {line}:{column} containing \"{fragment}\"; got: {error}");
    }
}
