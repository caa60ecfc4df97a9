using Gateway.Upstreams;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Tests.Upstreams;

public sealed class SecretFileTests : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private readonly string _folder = Directory.CreateTempSubdirectory("gateway-secretfile-").FullName;
    private readonly FakeTimeProvider _time = new();
    private readonly ListLogger _logger = new();

    private string FilePath => Path.Combine(_folder, "api.key");

    [Fact]
    public void Reload_RotatedFile_ValueChangesAndHandlerRuns()
    {
        File.WriteAllText(FilePath, "old-value\n");
        using var file = new SecretFile(FilePath, "crm", _time, _logger, Interval);
        var raised = 0;
        file.Changed += () => raised++;

        File.WriteAllText(FilePath, "new-value\n");
        _time.Advance(Interval);

        Assert.Equal("new-value", file.Value);
        Assert.Equal(1, raised);
        Assert.Contains(_logger.Entries, e => e.EventId == 1501);
    }

    [Fact]
    public void Reload_HandlerThrows_NothingEscapes_PreviousValueKept_LoggedOnce_RetriedAtEachPoll()
    {
        File.WriteAllText(FilePath, "old-value");
        using var file = new SecretFile(FilePath, "crm", _time, _logger, Interval);
        var calls = 0;
        var fail = true;
        file.Changed += () =>
        {
            calls++;
            if (fail)
            {
                throw new InvalidOperationException("handler failed on new-value-0123456789");
            }
        };

        File.WriteAllText(FilePath, "new-value-0123456789");
        _time.Advance(Interval);
        _time.Advance(Interval);
        _time.Advance(Interval);

        Assert.Equal("old-value", file.Value);
        Assert.Equal(3, calls);
        var failed = Assert.Single(_logger.Entries, e => e.EventId == 1506);
        Assert.Contains("InvalidOperationException", failed.Text, StringComparison.Ordinal);
        // The exception's message, which here quotes the file's content, is not logged.
        Assert.All(_logger.Entries, e => Assert.DoesNotContain("new-value-0123456789", e.Text, StringComparison.Ordinal));

        fail = false;
        _time.Advance(Interval);

        Assert.Equal("new-value-0123456789", file.Value);
        Assert.Equal(4, calls);
        Assert.Contains(_logger.Entries, e => e.EventId == 1501);
    }

    [Fact]
    public async Task Reload_HandlerThrowsOnTheSystemTimer_ProcessStaysUp_AndPreviousValueKept()
    {
        // On the real timer an exception that escaped would end the test host, not fail an assertion.
        File.WriteAllText(FilePath, "old-value");
        using var file = new SecretFile(FilePath, "crm", TimeProvider.System, _logger, TimeSpan.FromMilliseconds(20));
        var calls = 0;
        file.Changed += () =>
        {
            Interlocked.Increment(ref calls);
            throw new InvalidOperationException("handler failed");
        };

        File.WriteAllText(FilePath, "new-value");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (Volatile.Read(ref calls) < 5 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.True(Volatile.Read(ref calls) >= 5, $"the handler ran {calls} times");
        Assert.Equal("old-value", file.Value);
        Assert.Single(_logger.Entries, e => e.EventId == 1506);
    }

    [Fact]
    public void Reload_FileRemoved_ValueGoneWithProblem()
    {
        File.WriteAllText(FilePath, "old-value");
        using var file = new SecretFile(FilePath, "crm", _time, _logger, Interval);

        File.Delete(FilePath);
        _time.Advance(Interval);

        Assert.Null(file.Value);
        Assert.Equal("secret file 'api.key' does not exist", file.Problem);
        Assert.Contains(_logger.Entries, e => e.EventId == 1502);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
