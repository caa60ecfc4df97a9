namespace Gateway.Audit;

/// <summary>Reads lines as UTF-8 bytes, so bytes that are not UTF-8 reach the JSON parser (and fail there) instead of becoming U+FFFD.</summary>
internal static class LineReader
{
    /// <summary>Every line of <paramref name="stream"/> without its <c>\n</c>; the empty text after a final newline is not a line.</summary>
    public static IEnumerable<byte[]> ReadLines(Stream stream)
    {
        var buffer = new byte[64 * 1024];
        var pending = new MemoryStream();
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            var start = 0;
            for (var i = 0; i < read; i++)
            {
                if (buffer[i] != (byte)'\n')
                {
                    continue;
                }

                pending.Write(buffer, start, i - start);
                yield return pending.ToArray();
                pending.SetLength(0);
                start = i + 1;
            }

            pending.Write(buffer, start, read - start);
        }

        if (pending.Length > 0)
        {
            yield return pending.ToArray();
        }
    }
}
