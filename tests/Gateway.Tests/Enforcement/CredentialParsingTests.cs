using Gateway.Enforcement;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Enforcement;

public sealed class CredentialParsingTests
{
    private static AuthorizationEvaluator.Credential? Read(params string[] values)
    {
        IHeaderDictionary headers = new HeaderDictionary();
        if (values.Length > 0)
        {
            headers.Authorization = values;
        }

        return AuthorizationEvaluator.ReadCredential(headers, out _);
    }

    [Theory]
    [InlineData("Bearer abc.def.ghi", "abc.def.ghi", false)]
    [InlineData("bearer abc.def.ghi", "abc.def.ghi", false)]
    [InlineData("Bearer   abc.def.ghi  ", "abc.def.ghi", false)]
    [InlineData("  Bearer \tabc.def.ghi", "abc.def.ghi", false)]
    [InlineData("DPoP abc.def.ghi", "abc.def.ghi", true)]
    public void ReadCredential_WellFormed_ReturnsTokenAndScheme(string header, string token, bool dpop)
    {
        var credential = Read(header);

        Assert.NotNull(credential);
        Assert.Equal(token, credential.Value.Token);
        Assert.Equal(dpop, credential.Value.IsDpop);
    }

    [Theory]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("abc.def.ghi")]
    [InlineData("Bearer a.b.c d.e.f")]
    [InlineData("Bearer a.b.c,Bearer d.e.f")]
    public void ReadCredential_Malformed_ReturnsNullWithProblem(string header)
    {
        IHeaderDictionary headers = new HeaderDictionary();
        headers.Authorization = header;

        var credential = AuthorizationEvaluator.ReadCredential(headers, out var problem);

        Assert.Null(credential);
        Assert.False(string.IsNullOrWhiteSpace(problem));
    }

    [Fact]
    public void ReadCredential_TwoHeaders_IsRefused() => Assert.Null(Read("Bearer a.b.c", "Bearer a.b.c"));

    [Fact]
    public void ReadCredential_NoHeader_IsRefused() => Assert.Null(Read());
}
