namespace Gateway.Audit;

/// <summary>Reads a file's lines last to first, so finding a chain's head does not read the whole file.</summary>
internal static class ReverseLineReader
{
    private const int ChunkSize = 64 * 1024;

    /// <summary>The non-empty lines of <paramref name="path"/>, last first, without their newline.</summary>
    public static IEnumerable<byte[]> ReadLines(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
        var position = stream.Length;
        var carry = Array.Empty<byte>();
        while (position > 0)
        {
            var size = (int)Math.Min(ChunkSize, position);
            position -= size;
            var chunk = new byte[size + carry.Length];
            stream.Position = position;
            stream.ReadExactly(chunk, 0, size);
            carry.CopyTo(chunk, size);

            var end = chunk.Length;
            for (var i = chunk.Length - 1; i >= 0; i--)
            {
                if (chunk[i] != (byte)'\n')
                {
                    continue;
                }

                if (end - i - 1 > 0)
                {
                    yield return chunk[(i + 1)..end];
                }

                end = i;
            }

            // What precedes the first newline of this chunk may continue in the chunk before it.
            carry = chunk[..end];
        }

        if (carry.Length > 0)
        {
            yield return carry;
        }
    }
}
