using Gateway.Audit;
using Gateway.FunctionalTests.Infrastructure;
using Gateway.Policy;
using Gateway.Redis;
using Gateway.Redis.Audit;
using StackExchange.Redis;

namespace Gateway.FunctionalTests.Audit;

public sealed class RedisStreamAuditSinkTests : IClassFixture<RedisFixture>
{
    private readonly RedisFixture _redis;

    public RedisStreamAuditSinkTests(RedisFixture redis) => _redis = redis;

    [Fact]
    public async Task WriteAsync_ThroughTheWriter_StreamHoldsOneEntryPerEventAndTheChainVerifies()
    {
        var stream = NewStream();
        await WriteAsync(new RedisStreamAuditSink(_redis.Connection, new RedisStreamAuditSinkOptions { StreamKey = stream }), "r1", 300);

        var entries = await _redis.Connection.GetDatabase().StreamRangeAsync(stream);
        var result = AuditVerifier.VerifyLines(entries.Select(EventOf));

        Assert.Equal(300, entries.Length);
        Assert.All(entries, e => Assert.Equal("event", Assert.Single(e.Values).Name.ToString()));
        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(300, Assert.Single(result.Chains).LastSeq);
    }

    [Fact]
    public async Task Gateway_ForwardedCall_StreamEntryCarriesItsOutcomeAndLinks()
    {
        var stream = NewStream();
        using var folder = new AuditFolder();
        using var issuer = new TestIssuer();
        await using var upstream = await UpstreamServer.StartAsync();
        var settings = new Dictionary<string, string?> { ["Gateway:Store:Redis"] = _redis.Server.ConnectionString };
        string decisionId;
        await using (var gateway = await TestGateway.StartAsync(issuer, upstream, AuditTrail.Policy(folder.LiveFile, $"  redis_stream: \"{stream}\""), settings))
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/crm/customers/42");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", issuer.Mint());
            request.Headers.Add("Gateway-Prompt-Sha256", new string('c', 64));
            request.Headers.Add("baggage", "gen_ai.conversation.id=conv-redis");
            using var response = await gateway.Client.SendAsync(request);
            decisionId = response.Headers.GetValues("Gateway-Decision-Id").Single();
        }

        var entries = await _redis.Connection.GetDatabase().StreamRangeAsync(stream);
        var recorded = AuditEventSerializer.Parse(System.Text.Encoding.UTF8.GetBytes(EventOf(Assert.Single(entries))));
        Assert.Equal(decisionId, recorded.EventId);
        Assert.Equal((200, 11L, true), (recorded.Outcome!.Status, recorded.Outcome.Bytes, recorded.Outcome.Complete));
        Assert.Equal(new string('c', 64), recorded.Links!.PromptSha256);
        Assert.Equal("conv-redis", recorded.Links.ConversationId);
        Assert.Equal(0, recorded.Links.Grant);
        Assert.Equal(File.ReadAllText(folder.LiveFile).TrimEnd('\n'), EventOf(entries[0]));
    }

    [Fact]
    public async Task WriteAsync_MoreEventsThanMaxLength_KeepsTheStreamBoundedAndTheWindowVerifies()
    {
        var stream = NewStream();
        await WriteAsync(new RedisStreamAuditSink(_redis.Connection, new RedisStreamAuditSinkOptions { StreamKey = stream, MaxLength = 100 }), "r1", 1000);

        var database = _redis.Connection.GetDatabase();
        var length = await database.StreamLengthAsync(stream);
        var window = AuditVerifier.VerifyLines((await database.StreamRangeAsync(stream)).Select(EventOf), options: new AuditVerifierOptions { RequireChainStart = false });

        // MAXLEN ~ trims whole internal nodes (stream-node-max-entries, 100 by default).
        Assert.InRange(length, 100, 200);
        Assert.True(window.IsValid, window.ToString());
        Assert.Equal(1000, Assert.Single(window.Chains).LastSeq);
    }

    [Fact]
    public async Task WriteAsync_ExactTrim_KeepsExactlyMaxLength()
    {
        var stream = NewStream();
        await WriteAsync(new RedisStreamAuditSink(_redis.Connection, new RedisStreamAuditSinkOptions { StreamKey = stream, MaxLength = 50, ExactTrim = true }), "r1", 300);

        Assert.Equal(50, await _redis.Connection.GetDatabase().StreamLengthAsync(stream));
    }

    [Fact]
    public async Task WriteAsync_SameBatchTwice_AddsItOnce()
    {
        var stream = NewStream();
        var sink = new RedisStreamAuditSink(_redis.Connection, new RedisStreamAuditSinkOptions { StreamKey = stream });
        var sealer = new AuditChainSealer("r1", head: null);
        var batch = sealer.Seal([.. Enumerable.Range(0, 5).Select(Event)], (_, ex) => throw ex);

        await sink.WriteAsync(batch, CancellationToken.None);
        await sink.WriteAsync(batch, CancellationToken.None);

        Assert.Equal(5, await _redis.Connection.GetDatabase().StreamLengthAsync(stream));
        var head = await sink.ReadHeadAsync("r1", CancellationToken.None);
        Assert.Equal(new AuditChainHead("r1", 5, batch[4].Hash), head);
    }

    [Fact]
    public async Task StartAsync_AfterARestart_ContinuesTheChainFromTheStream()
    {
        var stream = NewStream();
        var options = new RedisStreamAuditSinkOptions { StreamKey = stream };
        await WriteAsync(new RedisStreamAuditSink(_redis.Connection, options), "r1", 40);
        await WriteAsync(new RedisStreamAuditSink(_redis.Connection, options), "r1", 40);

        var result = AuditVerifier.VerifyLines((await _redis.Connection.GetDatabase().StreamRangeAsync(stream)).Select(EventOf));

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(80, Assert.Single(result.Chains).LastSeq);
    }

    [Fact]
    public async Task WriteAsync_TwoReplicasOnOneStream_EachChainVerifies()
    {
        var stream = NewStream();

        // A second multiplexer is a second gateway process: nothing shared but Redis.
        await using var second = await GatewayRedisConnection.ConnectAsync(_redis.Server.ConnectionString);
        await Task.WhenAll(
            WriteAsync(new RedisStreamAuditSink(_redis.Connection, new RedisStreamAuditSinkOptions { StreamKey = stream }), "pod-a", 200),
            WriteAsync(new RedisStreamAuditSink(second, new RedisStreamAuditSinkOptions { StreamKey = stream }), "pod-b", 200));

        var result = AuditVerifier.VerifyLines((await _redis.Connection.GetDatabase().StreamRangeAsync(stream)).Select(EventOf));

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal([("pod-a", 200L), ("pod-b", 200L)], result.Chains.Select(c => (c.Replica, c.LastSeq)));
    }

    [Fact]
    public async Task WriteAsync_RedisDownForAWhile_RetriesUntilItIsBackWithoutLosingEvents()
    {
        await using var server = await RedisServer.StartAsync();
        await using var connection = await GatewayRedisConnection.ConnectAsync(server.ConnectionString);
        var stream = NewStream();
        var sink = new RedisStreamAuditSink(connection, new RedisStreamAuditSinkOptions { StreamKey = stream });
        await using var writer = new AuditWriter([sink], new AuditWriterOptions { Replica = "r1", RetryBaseDelay = TimeSpan.FromMilliseconds(20), RetryMaxDelay = TimeSpan.FromMilliseconds(200) });
        await writer.StartAsync(CancellationToken.None);
        await writer.WriteAsync(Event(0), CancellationToken.None);
        await WaitUntilAsync(() => writer.EventsWritten == 1);

        await server.KillAsync();
        for (var i = 1; i <= 20; i++)
        {
            await writer.WriteAsync(Event(i), CancellationToken.None);
        }

        await WaitUntilAsync(() => writer.SinkErrors > 0);
        await server.RestartAsync();
        await writer.StopAsync(CancellationToken.None);

        // The restarted server is empty (no persistence): it holds the 20 events written while it was down.
        var lines = (await connection.GetDatabase().StreamRangeAsync(stream)).Select(EventOf).ToList();
        var window = AuditVerifier.VerifyLines(lines, options: new AuditVerifierOptions { RequireChainStart = false });
        Assert.Equal(21, writer.EventsWritten);
        Assert.Equal(20, lines.Count);
        Assert.True(window.IsValid, window.ToString());
        Assert.Equal((2L, 21L), (window.Chains[0].FirstSeq, window.Chains[0].LastSeq));
    }

    [Theory]
    [InlineData("gateway:audit", "r1", "{gateway:audit}:head:r1")]
    [InlineData("{gw}:audit", "r1", "{gw}:audit:head:r1")]
    public void HeadKey_AnyStream_SharesTheStreamsClusterSlot(string stream, string replica, string expected)
    {
        Assert.Equal(expected, RedisStreamAuditSink.HeadKey(stream, replica));
    }

    private static string NewStream() => "test:audit:" + Guid.NewGuid().ToString("N");

    private static string EventOf(StreamEntry entry) => entry["event"].ToString();

    private static AuditEvent Event(int i) => new()
    {
        EventId = Guid.CreateVersion7().ToString("N"),
        Time = DateTimeOffset.UtcNow,
        Decision = i % 3 == 0 ? AuditDecision.Deny : AuditDecision.Allow,
        Error = i % 3 == 0 ? "insufficient_scope" : null,
        Route = "crm-get-customer",
        Action = "crm.customers:read",
        Resource = "crm:customer/" + i,
        Tier = "low",
        Risk = 1,
        Token = new AuditToken { Jti = "jti-" + i, Issuer = "https://idp.example", Subject = "alice@example.com", Agent = "agent:B", Intent = IntentMethod.Policy },
        Request = new AuditRequest { Method = "GET", Path = "/crm/customers/" + i },
        Status = i % 3 == 0 ? 403 : 200,
        PolicySha256 = new string('a', 64),
    };

    private static async Task WriteAsync(RedisStreamAuditSink sink, string replica, int count)
    {
        await using var writer = new AuditWriter([sink], new AuditWriterOptions { Replica = replica, BatchSize = 64 });
        await writer.StartAsync(CancellationToken.None);
        for (var i = 0; i < count; i++)
        {
            await writer.WriteAsync(Event(i), CancellationToken.None);
        }

        await writer.StopAsync(CancellationToken.None);
        Assert.Equal(count, writer.EventsWritten);
        Assert.Equal(0, writer.SinkErrors);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), "condition not met in time");
            await Task.Delay(10);
        }
    }
}
