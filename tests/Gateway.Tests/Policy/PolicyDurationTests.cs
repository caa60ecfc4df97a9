using Gateway.Policy;

namespace Gateway.Tests.Policy;

public class PolicyDurationTests
{
    [Theory]
    [InlineData("500ms", 0, 0, 0, 0, 500)]
    [InlineData("30s", 0, 0, 0, 30, 0)]
    [InlineData("5m", 0, 0, 5, 0, 0)]
    [InlineData("1h", 0, 1, 0, 0, 0)]
    [InlineData("24h", 1, 0, 0, 0, 0)]
    [InlineData("1d", 1, 0, 0, 0, 0)]
    [InlineData("90m", 0, 1, 30, 0, 0)]
    [InlineData("1h30m", 0, 1, 30, 0, 0)]
    [InlineData("1d2h3m4s5ms", 1, 2, 3, 4, 5)]
    [InlineData("0s", 0, 0, 0, 0, 0)]
    [InlineData("999999999ms", 11, 13, 46, 39, 999)]
    public void TryParse_ValidDuration_ReturnsValue(string text, int days, int hours, int minutes, int seconds, int milliseconds)
    {
        Assert.True(PolicyDuration.TryParse(text, out var value));
        Assert.Equal(new TimeSpan(days, hours, minutes, seconds, milliseconds), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10 minutes")]
    [InlineData("10minutes")]
    [InlineData("30")]
    [InlineData("-5m")]
    [InlineData("1.5h")]
    [InlineData("5M")]
    [InlineData("1m1h")]
    [InlineData("1h1h")]
    [InlineData("h")]
    [InlineData("1h ")]
    [InlineData(" 1h")]
    [InlineData("00:05:00")]
    [InlineData("PT5M")]
    [InlineData("9999999999d")]
    [InlineData("999999999d")]
    public void TryParse_InvalidDuration_ReturnsFalse(string text)
    {
        Assert.False(PolicyDuration.TryParse(text, out _));
    }

    [Theory]
    [InlineData("1h30m")]
    [InlineData("500ms")]
    [InlineData("1d2h3m4s5ms")]
    [InlineData("0s")]
    public void Format_ParsedDuration_RoundTrips(string text)
    {
        Assert.True(PolicyDuration.TryParse(text, out var value));
        Assert.Equal(text, PolicyDuration.Format(value));
    }
}
