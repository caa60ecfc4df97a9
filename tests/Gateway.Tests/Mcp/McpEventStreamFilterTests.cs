using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Gateway.Mcp;

namespace Gateway.Tests.Mcp;

public sealed class McpEventStreamFilterTests
{
    private const string ListData = """{"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"a"},{"name":"b"}],"nextCursor":"n"}}""";

    private static readonly McpToolsListFilterOptions OnlyA = new() { Allow = n => n == "a", ResponseIds = ["3"] };

    private static async Task<(string Output, McpStreamFilterResult Result)> RunAsync(string input, McpToolsListFilterOptions? options = null, int chunk = int.MaxValue)
    {
        var bytes = Encoding.UTF8.GetBytes(input);
        using var source = new ChunkedStream(bytes, chunk);
        using var destination = new MemoryStream();
        var result = await McpEventStreamFilter.CopyAsync(source, destination, options ?? OnlyA);
        return (Encoding.UTF8.GetString(destination.ToArray()), result);
    }

    [Fact]
    public async Task CopyAsync_OtherEventsPassByteForByteAndTheListIsFiltered()
    {
        var input = "id: prime\ndata:\n\n"
            + ": keep-alive comment\n\n"
            + "event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\r\n\r\n"
            + "id: 7\nevent: message\ndata: " + ListData + "\n\n";

        var (output, result) = await RunAsync(input);

        var expected = "id: prime\ndata:\n\n"
            + ": keep-alive comment\n\n"
            + "event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\r\n\r\n"
            + "id: 7\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"tools\":[{\"name\":\"a\"}],\"nextCursor\":\"n\"}}\n\n";
        Assert.Equal(expected, output);
        Assert.Equal(4, result.Events);
        Assert.Equal(1, result.Removed);
        Assert.True(result.Completed);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(64)]
    public async Task CopyAsync_AnyReadSizes_GiveTheSameOutput(int chunk)
    {
        var input = "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{}}\r\r"
            + "data: {\"jsonrpc\":\"2.0\",\"id\":3,\r\ndata: \"result\":{\"tools\":[{\"name\":\"a\"},\r\ndata: {\"name\":\"b\"}]}}\r\n\r\n";

        var (output, _) = await RunAsync(input, chunk: chunk);
        var (whole, _) = await RunAsync(input);

        Assert.Equal(whole, output);
        Assert.StartsWith("data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{}}\r\r", output, StringComparison.Ordinal);
        Assert.EndsWith("data: {\"jsonrpc\":\"2.0\",\"id\":3,\r\ndata: \"result\":{\"tools\":[{\"name\":\"a\"}]}}\r\n\r\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CopyAsync_EachEventIsWrittenBeforeTheNextArrives()
    {
        var pipe = new Pipe();
        using var destination = new NotifyingStream();
        var copy = McpEventStreamFilter.CopyAsync(pipe.Reader.AsStream(), destination, OnlyA);

        await pipe.Writer.WriteAsync(Encoding.UTF8.GetBytes("data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\n\n"));
        var first = await destination.NextFlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("notifications/progress", first, StringComparison.Ordinal);

        await pipe.Writer.WriteAsync(Encoding.UTF8.GetBytes("data: " + ListData + "\n\n"));
        var second = await destination.NextFlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.DoesNotContain("\"b\"", second, StringComparison.Ordinal);

        await pipe.Writer.CompleteAsync();
        Assert.True((await copy).Completed);
    }

    [Fact]
    public async Task CopyAsync_AnswerThatCannotBeFiltered_IsReplacedByAJsonRpcError()
    {
        var (output, result) = await RunAsync("id: 9\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"tools\":[{\"name\":\"b\",\"name\":\"a\"}]}}\n\n");

        Assert.Equal(1, result.Refused);
        Assert.StartsWith("id: 9\ndata: ", output, StringComparison.Ordinal);
        var data = JsonDocument.Parse(output["id: 9\ndata: ".Length..].Trim()).RootElement;
        Assert.Equal(3, data.GetProperty("id").GetInt32());
        Assert.Equal(-32603, data.GetProperty("error").GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task CopyAsync_StreamEndingInsideTheListEvent_IsStillFiltered()
    {
        var (output, _) = await RunAsync("data: " + ListData);

        Assert.DoesNotContain("\"b\"", output, StringComparison.Ordinal);
        Assert.Contains("\"a\"", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CopyAsync_EventOverTheBound_StopsWithoutPassingIt()
    {
        var options = new McpToolsListFilterOptions { Allow = _ => true, MaxBytes = 64 };

        var (output, result) = await RunAsync("data: " + new string('x', 200) + "\n\n", options, chunk: 16);

        Assert.False(result.Completed);
        Assert.Equal(string.Empty, output);
    }

    private sealed class ChunkedStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            base.ReadAsync(buffer, offset, Math.Min(count, chunk), cancellationToken);
    }

    /// <summary>Records what was written up to each flush, so a test sees an event leave before the next one exists.</summary>
    private sealed class NotifyingStream : MemoryStream
    {
        private readonly System.Threading.Channels.Channel<string> _flushes = System.Threading.Channels.Channel.CreateUnbounded<string>();
        private int _flushed;

        public async Task<string> NextFlushAsync() => await _flushes.Reader.ReadAsync();

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            var all = ToArray();
            _flushes.Writer.TryWrite(Encoding.UTF8.GetString(all, _flushed, all.Length - _flushed));
            _flushed = all.Length;
            return Task.CompletedTask;
        }
    }
}
