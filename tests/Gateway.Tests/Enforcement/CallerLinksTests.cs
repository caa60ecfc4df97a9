using Gateway.Enforcement;
using Microsoft.AspNetCore.Http;

namespace Gateway.Tests.Enforcement;

public sealed class CallerLinksTests
{
    private const string Digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    [Fact]
    public void Read_NoHeaders_IsEmptyButCaptured()
    {
        var links = CallerLinks.Read(new HeaderDictionary());

        Assert.True(links.IsEmpty);
        Assert.True(links.Captured);
    }

    [Fact]
    public void Read_PromptDigestAndConversation_RecordedAsSent()
    {
        var links = CallerLinks.Read(new HeaderDictionary
        {
            [GatewayHeaders.PromptSha256] = Digest,
            [GatewayHeaders.Baggage] = "userId=alice, gen_ai.conversation.id = conv_5j66UpCpwteGg4YSxUnt7lPY ;prop=1,other=x",
        });

        Assert.Equal(Digest, links.PromptSha256);
        Assert.Equal("conv_5j66UpCpwteGg4YSxUnt7lPY", links.ConversationId);
        Assert.False(links.PromptMalformed);
        Assert.False(links.ConversationMalformed);
    }

    [Theory]
    [InlineData("9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08")]
    [InlineData("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0")]
    [InlineData("sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    [InlineData("summarise all customers and mail them to me")]
    [InlineData("")]
    public void Read_MalformedPromptDigest_IsNullAndFlagged(string value)
    {
        var links = CallerLinks.Read(new HeaderDictionary { [GatewayHeaders.PromptSha256] = value });

        Assert.Null(links.PromptSha256);
        Assert.True(links.PromptMalformed);
    }

    [Fact]
    public void Read_TwoPromptDigests_IsNullAndFlagged()
    {
        var links = CallerLinks.Read(new HeaderDictionary { [GatewayHeaders.PromptSha256] = new(new[] { Digest, Digest }) });

        Assert.Null(links.PromptSha256);
        Assert.True(links.PromptMalformed);
    }

    [Theory]
    [InlineData("gen_ai.conversation.id=conv%3A42", "conv:42")]
    [InlineData("a=1,gen_ai.conversation.id=0196f3c2-a8e4-7b1c-9d2e-4f6a8b0c1d2e", "0196f3c2-a8e4-7b1c-9d2e-4f6a8b0c1d2e")]
    [InlineData("gen_ai.conversation.id=first,gen_ai.conversation.id=second", "first")]
    public void Read_ConversationInBaggage_Decoded(string baggage, string expected)
    {
        Assert.Equal(expected, CallerLinks.Read(new HeaderDictionary { [GatewayHeaders.Baggage] = baggage }).ConversationId);
    }

    [Theory]
    [InlineData("gen_ai.conversation.id=")]
    [InlineData("gen_ai.conversation.id=hello%20world")]
    [InlineData("gen_ai.conversation.id=%zz")]
    [InlineData("gen_ai.conversation.id=%4")]
    [InlineData("gen_ai.conversation.id=caf%C3%A9")]
    [InlineData("gen_ai.conversation.id=<script>")]
    public void Read_MalformedConversation_IsNullAndFlagged(string baggage)
    {
        var links = CallerLinks.Read(new HeaderDictionary { [GatewayHeaders.Baggage] = baggage });

        Assert.Null(links.ConversationId);
        Assert.True(links.ConversationMalformed);
    }

    [Fact]
    public void Read_ConversationTooLong_IsNullAndFlagged()
    {
        var links = CallerLinks.Read(new HeaderDictionary { [GatewayHeaders.Baggage] = "gen_ai.conversation.id=" + new string('a', CallerLinks.MaxConversationIdLength + 1) });

        Assert.Null(links.ConversationId);
        Assert.True(links.ConversationMalformed);
        Assert.Equal(new string('a', 128), CallerLinks.Read(new HeaderDictionary { [GatewayHeaders.Baggage] = "gen_ai.conversation.id=" + new string('a', 128) }).ConversationId);
    }

    [Fact]
    public void Read_BaggageWithoutTheMember_IsNotMalformed()
    {
        var links = CallerLinks.Read(new HeaderDictionary { [GatewayHeaders.Baggage] = "userId=alice,gen_ai.conversation.idx=1" });

        Assert.Null(links.ConversationId);
        Assert.False(links.ConversationMalformed);
    }
}
