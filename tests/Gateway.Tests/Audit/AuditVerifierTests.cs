using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Audit;

namespace Gateway.Tests.Audit;

public sealed class AuditVerifierTests : IDisposable
{
    private readonly AuditTestFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Verify_IntactChain_IsValidAndSummarisesIt()
    {
        var lines = Chain(10);
        var file = Save("a.jsonl", lines);

        var result = AuditVerifier.Verify([file]);

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(10, result.Events);
        var chain = Assert.Single(result.Chains);
        Assert.Equal(("r1", 1L, 10L), (chain.Replica, chain.FirstSeq, chain.LastSeq));
        Assert.Equal(Hash(lines[^1]), chain.LastHash);
        Assert.Equal("ok: 10 events in 1 chain(s)", result.ToString());
    }

    [Fact]
    public void Verify_EditedField_ReportsHashMismatchAtThatLine()
    {
        var lines = Chain(10);
        lines[4] = lines[4].Replace("\"status\":200", "\"status\":201", StringComparison.Ordinal);
        var file = Save("a.jsonl", lines);

        var result = AuditVerifier.Verify([file]);

        Assert.Equal((AuditBreak.HashMismatch, file, 5L), (result.Break!.Value, result.File, result.Line));
        Assert.Equal(4, result.Events);
        Assert.StartsWith($"{file}:5: hash mismatch: ", result.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_EditedFieldWithItsHashRecomputed_ReportsTheNextLine()
    {
        var lines = Chain(10);
        lines[4] = Rehash(lines[4], e => e["resource"] = "crm:customer/999");
        var file = Save("a.jsonl", lines);

        var result = AuditVerifier.Verify([file]);

        Assert.Equal((AuditBreak.PrevHashBreak, 6L), (result.Break!.Value, result.Line));
    }

    [Fact]
    public void Verify_DeletedLine_ReportsSeqGapWhereItWas()
    {
        var lines = Chain(10);
        lines.RemoveAt(4);
        var file = Save("a.jsonl", lines);

        var result = AuditVerifier.Verify([file]);

        Assert.Equal((AuditBreak.SeqGap, 5L), (result.Break!.Value, result.Line));
        Assert.Contains("expected seq 5, found 6", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_DeletedFirstLine_ReportsSeqGapAtLineOne()
    {
        var lines = Chain(5);
        lines.RemoveAt(0);

        var result = AuditVerifier.Verify([Save("a.jsonl", lines)]);

        Assert.Equal((AuditBreak.SeqGap, 1L), (result.Break!.Value, result.Line));
    }

    [Fact]
    public void Verify_TwoLinesSwapped_ReportsReorderedAtTheFirst()
    {
        var lines = Chain(10);
        (lines[3], lines[4]) = (lines[4], lines[3]);

        var result = AuditVerifier.Verify([Save("a.jsonl", lines)]);

        Assert.Equal((AuditBreak.Reordered, 4L), (result.Break!.Value, result.Line));
    }

    [Fact]
    public void Verify_CopyOfAnEarlierLineInserted_ReportsReorderedAtTheInsertedLine()
    {
        var lines = Chain(10);
        lines.Insert(6, lines[1]);

        var result = AuditVerifier.Verify([Save("a.jsonl", lines)]);

        Assert.Equal((AuditBreak.Reordered, 7L), (result.Break!.Value, result.Line));
        Assert.Contains("seq 2 after seq 6", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_ForgedLineInserted_ReportsHashMismatchAtTheInsertedLine()
    {
        var lines = Chain(10);
        var forged = JsonNode.Parse(lines[5])!;
        forged["resource"] = "crm:customer/forged";
        lines.Insert(5, forged.ToJsonString());

        var result = AuditVerifier.Verify([Save("a.jsonl", lines)]);

        Assert.Equal((AuditBreak.HashMismatch, 6L), (result.Break!.Value, result.Line));
    }

    [Fact]
    public void Verify_FileTruncatedMidLine_ReportsUnparsableAtTheTornLine()
    {
        var file = Save("a.jsonl", Chain(10));
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..(bytes.Length - 200)]);

        var result = AuditVerifier.Verify([file]);

        Assert.Equal((AuditBreak.Unparsable, 10L), (result.Break!.Value, result.Line));
        Assert.Equal(9, result.Events);
    }

    [Fact]
    public void Verify_EarlierFileTruncatedAtALineBoundary_ReportsTheGapInTheNextFile()
    {
        var lines = Chain(10);
        var first = Save("decisions-1.jsonl", lines.Take(4));
        var second = Save("decisions.jsonl", lines.Skip(5));

        var result = AuditVerifier.Verify([first, second]);

        Assert.Equal((AuditBreak.SeqGap, second, 1L), (result.Break!.Value, result.File, result.Line));
    }

    [Fact]
    public void Verify_ChainSplitOverFiles_VerifiesAcrossThem()
    {
        var lines = Chain(10);

        var result = AuditVerifier.Verify([Save("1.jsonl", lines.Take(3)), Save("2.jsonl", lines.Skip(3).Take(3)), Save("3.jsonl", lines.Skip(6))]);

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal(10, result.Events);
    }

    [Fact]
    public void Verify_ReplicasInterleavedInOneFile_VerifiesEachChain()
    {
        var file = Save("stream.jsonl", Interleave(Chain(20, "r1"), Chain(15, "r2"), Chain(7, "r3")));

        var result = AuditVerifier.Verify([file]);

        Assert.True(result.IsValid, result.ToString());
        Assert.Equal([("r1", 20L), ("r2", 15L), ("r3", 7L)], result.Chains.Select(c => (c.Replica, c.LastSeq)));
    }

    [Fact]
    public void Verify_ReplicasInterleavedAndOneLineEdited_NamesThatLine()
    {
        var lines = Interleave(Chain(20, "r1"), Chain(15, "r2"));
        var index = lines.FindIndex(l => l.Contains("\"replica\":\"r2\"", StringComparison.Ordinal) && l.Contains("\"seq\":9,", StringComparison.Ordinal));
        lines[index] = lines[index].Replace("alice@example.com", "mallory@example.com", StringComparison.Ordinal);

        var result = AuditVerifier.Verify([Save("stream.jsonl", lines)]);

        Assert.Equal((AuditBreak.HashMismatch, index + 1L), (result.Break!.Value, result.Line));
    }

    [Fact]
    public void Verify_ReplicasInterleavedAndOneLineDeleted_ReportsTheGapInThatReplicasChain()
    {
        var lines = Interleave(Chain(20, "r1"), Chain(15, "r2"));
        var index = lines.FindIndex(l => l.Contains("\"replica\":\"r1\"", StringComparison.Ordinal) && l.Contains("\"seq\":12,", StringComparison.Ordinal));
        lines.RemoveAt(index);
        var next = lines.FindIndex(index, l => l.Contains("\"replica\":\"r1\"", StringComparison.Ordinal));

        var result = AuditVerifier.Verify([Save("stream.jsonl", lines)]);

        Assert.Equal((AuditBreak.SeqGap, next + 1L), (result.Break!.Value, result.Line));
        Assert.Contains("replica r1", result.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"seq\":1}")]
    public void Verify_LineThatIsNoEvent_ReportsUnparsable(string bad)
    {
        var lines = Chain(3);
        lines.Insert(1, bad);

        var result = AuditVerifier.VerifyLines(lines, "x");

        Assert.Equal((AuditBreak.Unparsable, "x", 2L), (result.Break!.Value, result.File, result.Line));
    }

    [Fact]
    public void Verify_FirstEventWhosePrevHashIsNotZeros_ReportsPrevHashBreak()
    {
        var lines = Chain(3, head: new AuditChainHead("r1", 0, new string('9', 64)));

        var result = AuditVerifier.VerifyLines(lines);

        Assert.Equal((AuditBreak.PrevHashBreak, 1L), (result.Break!.Value, result.Line));
    }

    [Fact]
    public void Verify_LineReformattedWithoutChangingValues_StillVerifies()
    {
        var lines = Chain(3);
        var members = JsonNode.Parse(lines[1])!.AsObject().Reverse().ToList();
        var reordered = new JsonObject(members.Select(m => KeyValuePair.Create(m.Key, m.Value?.DeepClone())));
        lines[1] = reordered.ToJsonString(new JsonSerializerOptions { WriteIndented = true }).Replace("\n", " ", StringComparison.Ordinal);

        var result = AuditVerifier.VerifyLines(lines);

        Assert.True(result.IsValid, result.ToString());
    }

    private string Save(string name, IEnumerable<string> lines)
    {
        var path = _folder.File(name);
        File.WriteAllText(path, string.Concat(lines.Select(l => l + "\n")));
        return path;
    }

    private static List<string> Chain(int count, string replica = "r1", AuditChainHead? head = null)
    {
        var sealer = new AuditChainSealer(replica, head);
        var records = sealer.Seal([.. Enumerable.Range(0, count).Select(AuditTestData.Allowed)], (_, ex) => throw ex);
        return [.. records.Select(r => Encoding.UTF8.GetString(r.Utf8Json.Span))];
    }

    /// <summary>Merges chains in a fixed pseudo-random order, keeping each chain's own order.</summary>
    private static List<string> Interleave(params List<string>[] chains)
    {
        var random = new Random(7);
        var positions = new int[chains.Length];
        var merged = new List<string>();
        while (merged.Count < chains.Sum(c => c.Count))
        {
            var pick = random.Next(chains.Length);
            if (positions[pick] < chains[pick].Count)
            {
                merged.Add(chains[pick][positions[pick]++]);
            }
        }

        return merged;
    }

    private static string Hash(string line) => JsonNode.Parse(line)!["hash"]!.GetValue<string>();

    /// <summary>What a forger who knows the rule does: edit, then recompute this line's hash.</summary>
    private static string Rehash(string line, Action<JsonObject> edit)
    {
        var node = JsonNode.Parse(line)!.AsObject();
        edit(node);
        node.Remove("hash");
        var canonical = JsonCanonicalizer.Canonicalize(Encoding.UTF8.GetBytes(node.ToJsonString()));
        node["hash"] = AuditChain.ComputeHash(node["prev_hash"]!.GetValue<string>(), canonical);
        return node.ToJsonString();
    }
}
