namespace Gateway.Reporting;

/// <summary>
/// Builds an <see cref="AuditReport"/> from audit files. Files are read in large blocks cut at line ends, and
/// blocks are counted in parallel, each worker into its own <see cref="ReportAccumulator"/>, merged at the end:
/// a million events take seconds (docs/performance.md). Lines that are not audit events are counted and skipped.
/// </summary>
public static class AuditReportBuilder
{
    private const int BlockSize = 4 * 1024 * 1024;

    /// <param name="files">Audit files (JSON Lines), in any order.</param>
    /// <param name="since">Only events at or after this time; null counts every event.</param>
    /// <param name="until">The end of the window (the report's time).</param>
    public static AuditReport Build(IReadOnlyList<string> files, DateTimeOffset? since, DateTimeOffset until)
    {
        ArgumentNullException.ThrowIfNull(files);
        var total = new ReportAccumulator(since, until);
        var gate = new Lock();
        foreach (var file in files)
        {
            Parallel.ForEach(
                ReadBlocks(file),
                new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
                () => new ReportAccumulator(since, until),
                (block, _, accumulator) =>
                {
                    accumulator.AddBlock(block);
                    return accumulator;
                },
                accumulator =>
                {
                    lock (gate)
                    {
                        total.Merge(accumulator);
                    }
                });
        }

        return total.ToReport(files);
    }

    /// <summary>The file in blocks of whole lines (the last line may lack its newline).</summary>
    private static IEnumerable<ReadOnlyMemory<byte>> ReadBlocks(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
        var carry = Array.Empty<byte>();
        while (true)
        {
            var block = new byte[BlockSize + carry.Length];
            carry.CopyTo(block, 0);
            var filled = carry.Length;
            int read;
            while (filled < block.Length && (read = stream.Read(block, filled, block.Length - filled)) > 0)
            {
                filled += read;
            }

            if (filled == 0)
            {
                yield break;
            }

            if (filled < block.Length)
            {
                yield return block.AsMemory(0, filled);
                yield break;
            }

            var end = Array.LastIndexOf(block, (byte)'\n');
            if (end < 0)
            {
                // One line longer than a block: keep reading it.
                carry = block;
                continue;
            }

            carry = block[(end + 1)..];
            yield return block.AsMemory(0, end + 1);
        }
    }
}
