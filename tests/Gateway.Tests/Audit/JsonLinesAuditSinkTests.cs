using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gateway.Audit;
using Xunit.Abstractions;

namespace Gateway.Tests.Audit;

public sealed class JsonLinesAuditSinkTests : IDisposable
{
    private readonly AuditTestFolder _folder = new();
    private readonly ITestOutputHelper _output;

    public JsonLinesAuditSinkTests(ITestOutputHelper output) => _output = output;

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task WriteAsync_1000EventsFromManyTasks_FileVerifies()
    {
        await WriteAsync(new JsonLinesAuditSinkOptions { Path = _folder.LiveFile }, "r1", 1000, parallel: true);

        var result = AuditVerifier.Verify([_folder.LiveFile]);

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(1000, result.Events);
        Assert.Equal(1000, File.ReadAllLines(_folder.LiveFile).Length);
    }

    [Fact]
    public async Task WriteAsync_TinyRotationSize_RotatesAndTheChainRunsOnAcrossFiles()
    {
        const long MaxBytes = 4096;
        await WriteAsync(new JsonLinesAuditSinkOptions { Path = _folder.LiveFile, MaxFileBytes = MaxBytes }, "r1", 200);

        var files = JsonLinesAuditSink.GetChainFiles(_folder.LiveFile);
        var result = AuditVerifier.Verify(files);

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(200, result.Events);
        Assert.True(files.Count > 10, $"only {files.Count} files");
        Assert.Equal(_folder.LiveFile, files[^1]);
        var name = new Regex(@"^decisions-\d{8}T\d{9}Z-(\d+)\.jsonl$");
        foreach (var file in files.Take(files.Count - 1))
        {
            var match = name.Match(Path.GetFileName(file));
            Assert.True(match.Success, Path.GetFileName(file));
            Assert.InRange(new FileInfo(file).Length, 1, MaxBytes);

            // The seq in the name is the file's last event.
            using var last = JsonDocument.Parse(File.ReadLines(file).Last());
            Assert.Equal(match.Groups[1].Value, last.RootElement.GetProperty("seq").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public async Task Verify_RotatedChainWithoutItsFirstFiles_NeedsRequireChainStartOff()
    {
        await WriteAsync(new JsonLinesAuditSinkOptions { Path = _folder.LiveFile, MaxFileBytes = 4096 }, "r1", 50);

        var strict = AuditVerifier.Verify([_folder.LiveFile]);
        var window = AuditVerifier.Verify([_folder.LiveFile], new AuditVerifierOptions { RequireChainStart = false });

        Assert.Equal(AuditBreak.SeqGap, strict.Break);
        Assert.Equal(1, strict.Line);
        Assert.True(window.IsValid, window.ToString());
        Assert.Equal(50, Assert.Single(window.Chains).LastSeq);
    }

    [Fact]
    public async Task StartAsync_AfterARestart_ContinuesTheChainInTheSameFile()
    {
        var options = new JsonLinesAuditSinkOptions { Path = _folder.LiveFile };
        await WriteAsync(options, "r1", 50);
        await WriteAsync(options, "r1", 50, firstId: 50);

        var result = AuditVerifier.Verify([_folder.LiveFile]);

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(new AuditChainSummary("r1", 1, 100, result.Chains[0].LastHash, 100), Assert.Single(result.Chains));
    }

    [Fact]
    public async Task StartAsync_AfterARestartAcrossRotation_ContinuesTheChain()
    {
        var options = new JsonLinesAuditSinkOptions { Path = _folder.LiveFile, MaxFileBytes = 8192 };
        await WriteAsync(options, "r1", 30);
        await WriteAsync(options, "r1", 30, firstId: 30);

        var result = AuditVerifier.Verify(JsonLinesAuditSink.GetChainFiles(_folder.LiveFile));

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(60, Assert.Single(result.Chains).LastSeq);
    }

    [Fact]
    public async Task StartAsync_LiveFileGoneAfterRotation_ResumesFromTheNewestRotatedFile()
    {
        var options = new JsonLinesAuditSinkOptions { Path = _folder.LiveFile, MaxFileBytes = 8192 };
        await WriteAsync(options, "r1", 30);

        // As if the process died between renaming the live file and creating the next one.
        File.Move(_folder.LiveFile, _folder.File("decisions-29991231T235959999Z-30.jsonl"));
        await WriteAsync(options, "r1", 5, firstId: 30);

        var result = AuditVerifier.Verify(JsonLinesAuditSink.GetChainFiles(_folder.LiveFile));
        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(35, Assert.Single(result.Chains).LastSeq);
    }

    [Fact]
    public async Task StartAsync_ReplicaWithANewId_StartsItsOwnChainAndBothVerify()
    {
        var options = new JsonLinesAuditSinkOptions { Path = _folder.LiveFile };
        await WriteAsync(options, "pod-a", 20);
        await WriteAsync(options, "pod-b", 20, firstId: 20);

        var result = AuditVerifier.Verify([_folder.LiveFile]);

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(["pod-a", "pod-b"], result.Chains.Select(c => c.Replica));
        Assert.All(result.Chains, c => Assert.Equal((1, 20), (c.FirstSeq, c.LastSeq)));
    }

    [Fact]
    public async Task StartAsync_LiveFileEndsInATornLine_KeepsItAndChainsOnFromTheLastWholeEvent()
    {
        var options = new JsonLinesAuditSinkOptions { Path = _folder.LiveFile };
        await WriteAsync(options, "r1", 10);
        var torn = File.ReadAllLines(_folder.LiveFile)[^1][..100];
        await File.AppendAllTextAsync(_folder.LiveFile, torn);

        await WriteAsync(options, "r1", 5, firstId: 10);

        var lines = File.ReadAllLines(_folder.LiveFile);
        Assert.Equal(16, lines.Length);
        Assert.Equal(torn, lines[10]);
        var result = AuditVerifier.Verify([_folder.LiveFile]);
        Assert.Equal((AuditBreak.Unparsable, 11L), (result.Break!.Value, result.Line));

        // Without the torn line, the chain is whole: the events after it continue from seq 10.
        var whole = AuditVerifier.VerifyLines(lines.Where((_, i) => i != 10));
        Assert.True(whole.IsValid, whole.ToString());
        Assert.Equal(15, whole.Chains[0].LastSeq);
    }

    [Fact]
    public async Task WriteAsync_SameBatchTwice_StoresItOnce()
    {
        using var sink = new JsonLinesAuditSink(new JsonLinesAuditSinkOptions { Path = _folder.LiveFile });
        var sealer = new AuditChainSealer("r1", head: null);
        var batch = sealer.Seal([.. Enumerable.Range(0, 5).Select(AuditTestData.Allowed)], (_, ex) => throw ex);

        await sink.WriteAsync(batch, CancellationToken.None);
        await sink.WriteAsync(batch, CancellationToken.None);

        Assert.Equal(5, File.ReadAllLines(_folder.LiveFile).Length);
        Assert.True(AuditVerifier.Verify([_folder.LiveFile]).IsValid);
    }

    [Fact]
    public async Task WriteAsync_FailsHalfwayThroughABatch_RetryWritesEachLineOnce()
    {
        // Rotation fails while a directory sits where the rotated file should go; by then part of
        // the batch is already in the live file.
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(AuditTestData.Time);
        var blockers = Enumerable.Range(1, 20)
            .Select(seq => _folder.File($"decisions-{time.GetUtcNow().UtcDateTime:yyyyMMdd'T'HHmmssfff'Z'}-{seq}.jsonl"))
            .ToList();
        blockers.ForEach(path => Directory.CreateDirectory(path));
        using var sink = new JsonLinesAuditSink(new JsonLinesAuditSinkOptions { Path = _folder.LiveFile, MaxFileBytes = 3000 }, timeProvider: time);
        await using var writer = new AuditWriter([sink], new AuditWriterOptions { Replica = "r1", BatchSize = 10, RetryBaseDelay = TimeSpan.FromMilliseconds(10) });
        for (var i = 0; i < 10; i++)
        {
            await writer.WriteAsync(AuditTestData.Allowed(i), CancellationToken.None);
        }

        await writer.StartAsync(CancellationToken.None);
        var deadline = Stopwatch.StartNew();
        while (writer.SinkErrors < 2)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "the sink never failed");
            await Task.Delay(5);
        }

        Assert.True(new FileInfo(_folder.LiveFile).Length > 0, "the failed attempt left part of the batch in the file");
        blockers.ForEach(path => Directory.Delete(path));
        await writer.StopAsync(CancellationToken.None);

        var result = AuditVerifier.Verify(JsonLinesAuditSink.GetChainFiles(_folder.LiveFile));
        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(10, result.Events);
    }

    [Theory]
    [InlineData(AuditFsyncPolicy.EveryBatch)]
    [InlineData(AuditFsyncPolicy.Interval)]
    [InlineData(AuditFsyncPolicy.Never)]
    public async Task WriteAsync_AnyFsyncPolicy_WritesEveryEvent(AuditFsyncPolicy policy)
    {
        await WriteAsync(new JsonLinesAuditSinkOptions { Path = _folder.LiveFile, Fsync = policy, FsyncInterval = TimeSpan.FromMilliseconds(10) }, "r1", 100);

        var result = AuditVerifier.Verify([_folder.LiveFile]);
        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(100, result.Events);
    }

    [Fact]
    public async Task WriteAsync_NewFile_IsReadableByOwnerAndGroupOnly()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        await WriteAsync(new JsonLinesAuditSinkOptions { Path = _folder.File("sub/decisions.jsonl") }, "r1", 1);

        Assert.Equal(
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead,
            File.GetUnixFileMode(_folder.File("sub/decisions.jsonl")));
    }

    [Theory]
    [InlineData(AuditFsyncPolicy.EveryBatch)]
    [InlineData(AuditFsyncPolicy.Never)]
    public async Task WriteAsync_Throughput_IsMeasured(AuditFsyncPolicy policy)
    {
        const int Events = 20_000;
        var took = Stopwatch.StartNew();
        await WriteAsync(new JsonLinesAuditSinkOptions { Path = _folder.LiveFile, Fsync = policy }, "r1", Events, parallel: true);
        took.Stop();

        Assert.Equal(Events, File.ReadLines(_folder.LiveFile).Count());
        _output.WriteLine($"{policy}: {Events} events through AuditWriter + JsonLinesAuditSink in {took.Elapsed.TotalMilliseconds:F0} ms = {Events / took.Elapsed.TotalSeconds:F0} events/s, {new FileInfo(_folder.LiveFile).Length / Events} bytes/event");
    }

    /// <summary>One writer lifetime: a fresh sink and writer, <paramref name="count"/> events, a graceful stop.</summary>
    private static async Task WriteAsync(JsonLinesAuditSinkOptions options, string replica, int count, int firstId = 0, bool parallel = false)
    {
        using var sink = new JsonLinesAuditSink(options);
        await using var writer = new AuditWriter([sink], new AuditWriterOptions { Replica = replica });
        await writer.StartAsync(CancellationToken.None);
        if (parallel)
        {
            const int Tasks = 8;
            await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
            {
                for (var i = t; i < count; i += Tasks)
                {
                    await writer.WriteAsync(AuditTestData.Allowed(firstId + i), CancellationToken.None);
                }
            })));
        }
        else
        {
            for (var i = 0; i < count; i++)
            {
                await writer.WriteAsync(AuditTestData.Allowed(firstId + i), CancellationToken.None);
            }
        }

        await writer.StopAsync(CancellationToken.None);
        Assert.Equal(count, writer.EventsWritten);
    }
}
