using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Gateway.Audit;

/// <summary>
/// Checks audit hash chains (<c>gateway audit verify</c>). Lines are read in the order given, across
/// files; each line joins the chain of its <c>replica</c>, so one file may hold several replicas'
/// chains interleaved (an export of a shared Redis stream), and one chain may span many files
/// (rotation: pass them oldest first, see <see cref="JsonLinesAuditSink.GetChainFiles"/>).
/// </summary>
/// <remarks>
/// Each line is checked in this order: it parses, its content hashes to its <c>hash</c>, its
/// <c>seq</c> is the next of its chain, its <c>prev_hash</c> is the previous event's <c>hash</c>. The
/// first failure is reported with its file and line. A hash chain proves the lines hang together;
/// it cannot tell which of two conflicting lines is the genuine one, so after a forged line whose own
/// hash is consistent, the break is reported at the first genuine line that no longer fits.
/// </remarks>
public static class AuditVerifier
{
    /// <summary>Verifies <paramref name="files"/>, in order, as one set of chains.</summary>
    /// <exception cref="IOException">A file cannot be read.</exception>
    public static AuditVerificationResult Verify(IEnumerable<string> files, AuditVerifierOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        return Verify(ReadFiles(files), options ?? new AuditVerifierOptions());
    }

    /// <summary>Verifies lines already in memory (a Redis stream read, a test), reported as from <paramref name="source"/>.</summary>
    public static AuditVerificationResult VerifyLines(IEnumerable<string> lines, string source = "-", AuditVerifierOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(lines);
        return Verify(lines.Select((line, index) => new NumberedLine(source, index + 1, Encoding.UTF8.GetBytes(line))), options ?? new AuditVerifierOptions());
    }

    private static IEnumerable<NumberedLine> ReadFiles(IEnumerable<string> files)
    {
        foreach (var file in files)
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            long number = 0;
            foreach (var line in LineReader.ReadLines(stream))
            {
                yield return new NumberedLine(file, ++number, line);
            }
        }
    }

    private static AuditVerificationResult Verify(IEnumerable<NumberedLine> lines, AuditVerifierOptions options)
    {
        var chains = new Dictionary<string, Chain>(StringComparer.Ordinal);
        var canonical = new ArrayBufferWriter<byte>(2048);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long events = 0;
        using var enumerator = lines.GetEnumerator();
        while (enumerator.MoveNext())
        {
            var line = enumerator.Current;
            if (Check(line.Bytes, chains, canonical, hash, options) is { } failure)
            {
                var reason = failure.Reason;
                if (reason == AuditBreak.SeqGap && failure.Missing is { } missing && Appears(enumerator, missing))
                {
                    reason = AuditBreak.Reordered;
                }

                return new AuditVerificationResult
                {
                    Break = reason,
                    File = line.Source,
                    Line = line.Number,
                    Detail = reason == AuditBreak.Reordered && failure.Reason == AuditBreak.SeqGap
                        ? failure.Detail + string.Create(CultureInfo.InvariantCulture, $"; seq {failure.Missing!.Value.Seq} comes later")
                        : failure.Detail,
                    Events = events,
                    Chains = Summaries(chains),
                };
            }

            events++;
        }

        return new AuditVerificationResult { Events = events, Chains = Summaries(chains) };
    }

    private static Failure? Check(byte[] bytes, Dictionary<string, Chain> chains, ArrayBufferWriter<byte> canonical, IncrementalHash hash, AuditVerifierOptions options)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException ex)
        {
            return Unparsable(bytes.Length == 0 ? "empty line" : "not JSON (" + ex.Message + ")");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Unparsable("not a JSON object");
            }

            if (!TryLowerHex(root, "hash", out var claimed))
            {
                return Unparsable("no hash of 64 lowercase hex digits");
            }

            if (!TryLowerHex(root, "prev_hash", out var prevHash))
            {
                return Unparsable("no prev_hash of 64 lowercase hex digits");
            }

            if (!root.TryGetProperty("seq", out var seqElement) || seqElement.ValueKind != JsonValueKind.Number
                || !seqElement.TryGetInt64(out var seq) || seq < 1)
            {
                return Unparsable("no seq (an integer from 1)");
            }

            if (!root.TryGetProperty("replica", out var replicaElement) || replicaElement.ValueKind != JsonValueKind.String
                || replicaElement.GetString() is not { Length: > 0 } replica)
            {
                return Unparsable("no replica");
            }

            canonical.ResetWrittenCount();
            try
            {
                JsonCanonicalizer.Canonicalize(root, canonical, except: "hash");
            }
            catch (FormatException ex)
            {
                return Unparsable(ex.Message);
            }

            var computed = AuditChain.ComputeHash(hash, prevHash, canonical.WrittenSpan);
            if (!string.Equals(computed, claimed, StringComparison.Ordinal))
            {
                return new Failure(AuditBreak.HashMismatch, $"the content hashes to {computed}, the line says {claimed}: the line was changed");
            }

            return Link(chains, replica, seq, prevHash, claimed, options);
        }
    }

    private static Failure? Link(Dictionary<string, Chain> chains, string replica, long seq, string prevHash, string hash, AuditVerifierOptions options)
    {
        if (!chains.TryGetValue(replica, out var chain))
        {
            if (seq == 1 && prevHash != AuditChain.GenesisHash)
            {
                return new Failure(AuditBreak.PrevHashBreak, $"replica {replica}: the first event's prev_hash is not 64 zeros");
            }

            if (seq > 1 && options.RequireChainStart)
            {
                return new Failure(
                    AuditBreak.SeqGap,
                    string.Create(CultureInfo.InvariantCulture, $"replica {replica}: the chain starts at seq {seq}, events 1..{seq - 1} are missing (pass the earlier files too, oldest first)"),
                    (replica, 1));
            }

            chains[replica] = new Chain { FirstSeq = seq, LastSeq = seq, LastHash = hash, Events = 1 };
            return null;
        }

        var expected = chain.LastSeq + 1;
        if (seq > expected)
        {
            return new Failure(
                AuditBreak.SeqGap,
                string.Create(CultureInfo.InvariantCulture, $"replica {replica}: expected seq {expected}, found {seq}; {seq - expected} event(s) missing"),
                (replica, expected));
        }

        if (seq < expected)
        {
            return new Failure(
                AuditBreak.Reordered,
                string.Create(CultureInfo.InvariantCulture, $"replica {replica}: seq {seq} after seq {chain.LastSeq}"));
        }

        if (!string.Equals(prevHash, chain.LastHash, StringComparison.Ordinal))
        {
            return new Failure(
                AuditBreak.PrevHashBreak,
                string.Create(CultureInfo.InvariantCulture, $"replica {replica}: prev_hash of seq {seq} is not the hash of seq {chain.LastSeq}"));
        }

        chain.LastSeq = seq;
        chain.LastHash = hash;
        chain.Events++;
        return null;
    }

    /// <summary>Whether a later line holds the missing event: then the lines were reordered, not deleted.</summary>
    private static bool Appears(IEnumerator<NumberedLine> rest, (string Replica, long Seq) missing)
    {
        while (rest.MoveNext())
        {
            try
            {
                using var document = JsonDocument.Parse(rest.Current.Bytes);
                var root = document.RootElement;
                if (root.ValueKind == JsonValueKind.Object
                    && root.TryGetProperty("replica", out var replica) && replica.ValueKind == JsonValueKind.String
                    && replica.ValueEquals(missing.Replica)
                    && root.TryGetProperty("seq", out var seq) && seq.ValueKind == JsonValueKind.Number
                    && seq.TryGetInt64(out var value) && value == missing.Seq)
                {
                    return true;
                }
            }
            catch (JsonException)
            {
                // Only looking; the first break is already known.
            }
        }

        return false;
    }

    private static bool TryLowerHex(JsonElement root, string name, out string value)
    {
        value = "";
        if (!root.TryGetProperty(name, out var element) || element.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        value = element.GetString()!;
        return value.AsSpan().IsLowerHex(AuditChain.HashLength);
    }

    private static Failure Unparsable(string detail) => new(AuditBreak.Unparsable, detail);

    private static AuditChainSummary[] Summaries(Dictionary<string, Chain> chains) =>
        [.. chains.OrderBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => new AuditChainSummary(c.Key, c.Value.FirstSeq, c.Value.LastSeq, c.Value.LastHash, c.Value.Events))];

    private readonly record struct NumberedLine(string Source, long Number, byte[] Bytes);

    private sealed record Failure(AuditBreak Reason, string Detail, (string Replica, long Seq)? Missing = null);

    private sealed class Chain
    {
        public long FirstSeq { get; init; }
        public long LastSeq { get; set; }
        public required string LastHash { get; set; }
        public long Events { get; set; }
    }
}
