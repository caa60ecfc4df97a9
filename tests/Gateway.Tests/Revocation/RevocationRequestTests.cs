using System.Text.Json;
using Gateway.Revocation;

namespace Gateway.Tests.Revocation;

public sealed class RevocationRequestTests
{
    [Theory]
    [InlineData("jti", RevocationKind.Jti)]
    [InlineData("agent", RevocationKind.Agent)]
    [InlineData("sub", RevocationKind.Subject)]
    [InlineData("client_id", RevocationKind.ClientId)]
    public void TryParse_EachKind_Read(string member, RevocationKind kind)
    {
        var request = Parsed($$"""{"{{member}}": "value-1", "reason": "why"}""");

        Assert.Equal(kind, request.Kind);
        Assert.Equal("value-1", request.Value);
        Assert.Equal("why", request.Reason);
        Assert.Null(request.IssuedBefore);
    }

    [Theory]
    [InlineData("2026-03-01T09:30:00Z", 0)]
    [InlineData("2026-03-01T10:30:00.5+01:00", 500)]
    [InlineData("2026-03-01t09:30:00z", 0)]
    public void TryParse_IssuedBefore_ReadAsAnInstant(string text, int milliseconds)
    {
        var request = Parsed($$"""{"sub": "user:alice", "issued_before": "{{text}}", "reason": "why"}""");

        Assert.Equal(new DateTimeOffset(2026, 3, 1, 9, 30, 0, milliseconds, TimeSpan.Zero), request.IssuedBefore);
    }

    [Fact]
    public void TryParse_IssuedBeforeNull_MeansNoCutOff()
    {
        Assert.Null(Parsed("""{"sub": "user:alice", "issued_before": null, "reason": "why"}""").IssuedBefore);
    }

    [Theory]
    [InlineData("2026-03-01T09:30:00", "RFC 3339")]
    [InlineData("2026-03-01", "RFC 3339")]
    [InlineData("1772357400", "RFC 3339")]
    [InlineData("yesterday", "RFC 3339")]
    public void TryParse_IssuedBeforeWithoutOffsetOrNotADate_Refused(string text, string fragment)
    {
        Assert.Contains(fragment, Refused($$"""{"sub": "user:alice", "issued_before": "{{text}}", "reason": "why"}"""), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"reason": "why"}""", "exactly one of jti, agent, sub, client_id")]
    [InlineData("""{"agent": "a", "sub": "b", "reason": "why"}""", "both 'agent' and 'sub'")]
    [InlineData("""{"agent": "a"}""", "'reason' is required")]
    [InlineData("""{"agent": 42, "reason": "why"}""", "'agent' must be a string")]
    [InlineData("""{"agent": "a", "reason": ["why"]}""", "'reason' must be a string")]
    [InlineData("""{"agent": "a", "reason": "why", "isued_before": "2026-03-01T09:30:00Z"}""", "did you mean 'issued_before'")]
    [InlineData("""{"agnet": "a", "reason": "why"}""", "did you mean 'agent'")]
    [InlineData("""["agent", "a"]""", "JSON object")]
    public void TryParse_MalformedBody_RefusedWithASentence(string json, string fragment)
    {
        Assert.Contains(fragment, Refused(json), StringComparison.Ordinal);
    }

    private static RevocationRequest Parsed(string json)
    {
        using var document = JsonDocument.Parse(json);
        Assert.True(RevocationRequest.TryParse(document.RootElement, out var request, out var problem), problem);
        return request;
    }

    private static string Refused(string json)
    {
        using var document = JsonDocument.Parse(json);
        Assert.False(RevocationRequest.TryParse(document.RootElement, out var request, out var problem));
        Assert.Null(request);
        return problem;
    }
}
