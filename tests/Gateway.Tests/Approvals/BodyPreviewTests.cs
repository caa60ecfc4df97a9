using System.Text;
using Gateway.Approvals;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Approvals;

public sealed class BodyPreviewTests
{
    private readonly BodyPreview _preview = new(["password", "card_number"], 2048);

    [Fact]
    public void Render_Json_RedactsNamedFieldsAtAnyDepthWhateverTheirSpelling()
    {
        var body = """{"amount":120,"cardNumber":"4111111111111111","user":{"Password":"hunter2","items":[{"card-number":"5500"}]}}""";

        var (text, truncated) = _preview.Render(Encoding.UTF8.GetBytes(body), "application/json; charset=utf-8");

        Assert.False(truncated);
        Assert.NotNull(text);
        Assert.DoesNotContain("4111", text, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        Assert.DoesNotContain("5500", text, StringComparison.Ordinal);
        Assert.Contains("\"amount\": 120", text, StringComparison.Ordinal);
        Assert.Equal(3, text.Split(BodyPreview.Redacted).Length - 1);
    }

    [Fact]
    public void Render_Form_RedactsNamedFields()
    {
        var (text, _) = _preview.Render(Encoding.UTF8.GetBytes("amount=5&password=hunter2"), "application/x-www-form-urlencoded");

        Assert.Equal("amount = 5\npassword = [redacted]", text);
    }

    [Theory]
    [InlineData("text/plain", "password=hunter2")]
    [InlineData("application/octet-stream", "xyz")]
    [InlineData("application/json", "{not json password: hunter2")]
    [InlineData(null, "{}")]
    public void Render_WhatCannotBeRedacted_IsNotShown(string? contentType, string body)
    {
        var (text, truncated) = _preview.Render(Encoding.UTF8.GetBytes(body), contentType);

        Assert.Null(text);
        Assert.False(truncated);
    }

    [Fact]
    public void Render_LongBody_IsCutAndSaysSo()
    {
        var preview = new BodyPreview([], 10);

        var (text, truncated) = preview.Render(Encoding.UTF8.GetBytes("""{"note":"a long, long text"}"""), "application/problem+json");

        Assert.Equal(10, text!.Length);
        Assert.True(truncated);
    }

    [Fact]
    public async Task ReadAsync_DigestsAndRewindsTheBody()
    {
        var context = new DefaultHttpContext();
        var bytes = Encoding.UTF8.GetBytes("""{"password":"x"}""");
        context.Request.Body = new MemoryStream(bytes);
        context.Request.ContentType = "application/json";

        var body = await RequestBody.ReadAsync(context.Request, 1024, _preview, CancellationToken.None);
        using var reader = new StreamReader(context.Request.Body);

        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), body!.Sha256);
        Assert.Equal(bytes.Length, body.Length);
        Assert.Contains(BodyPreview.Redacted, body.Preview, StringComparison.Ordinal);
        Assert.Equal("""{"password":"x"}""", await reader.ReadToEndAsync());
    }

    [Fact]
    public async Task ReadAsync_TooLarge_ReturnsNull()
    {
        var context = new DefaultHttpContext();
        context.Request.Body = new MemoryStream(new byte[100]);

        Assert.Null(await RequestBody.ReadAsync(context.Request, 99, null, CancellationToken.None));
        context.Request.ContentLength = 100;
        Assert.Null(await RequestBody.ReadAsync(context.Request, 99, null, CancellationToken.None));
    }

    [Fact]
    public async Task ReadAsync_NoBody_IsTheEmptyDigest()
    {
        var context = new DefaultHttpContext();
        context.Request.ContentLength = 0;

        var body = await RequestBody.ReadAsync(context.Request, 10, _preview, CancellationToken.None);

        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", body!.Sha256);
    }
}
