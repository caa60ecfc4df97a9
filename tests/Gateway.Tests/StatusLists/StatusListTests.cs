using System.Buffers.Text;
using System.IO.Compression;
using Gateway.StatusLists;

namespace Gateway.Tests.StatusLists;

/// <summary>Decoding <c>status_list.lst</c> (draft-ietf-oauth-status-list section 4), its bit order and its bounds.</summary>
public sealed class StatusListTests
{
    [Fact]
    public void TryDecode_OneBitList_EntriesLeastSignificantBitFirst()
    {
        // Entries 0..15 = 1,0,0,1,1,1,0,1, 1,1,0,0,0,1,0,1: bytes 0xB9 0xA3, the draft's one-bit example.
        var list = StatusList.TryDecode(1, StatusList.Encode([0xB9, 0xA3]), 1024, out var problem);

        Assert.Null(problem);
        Assert.Equal(16, list!.Count);
        byte[] expected = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(list.TryGetStatus(i, out var status));
            Assert.Equal(expected[i], status);
        }

        Assert.False(list.TryGetStatus(16, out _));
        Assert.False(list.TryGetStatus(-1, out _));
    }

    [Fact]
    public void TryDecode_TheDraftsEncodedExample_DecodesToItsBytes()
    {
        var list = StatusList.TryDecode(1, "eNrbuRgAAhcBXQ", 1024, out var problem);

        Assert.Null(problem);
        Assert.True(list!.TryGetStatus(0, out var first));
        Assert.Equal(1, first);
        Assert.True(list.TryGetStatus(1, out var second));
        Assert.Equal(0, second);
        Assert.Equal(16, list.Count);
    }

    [Theory]
    [InlineData(2, 0xC9, new byte[] { 1, 2, 0, 3 })]
    [InlineData(4, 0x2A, new byte[] { 0x0A, 0x02 })]
    [InlineData(8, 0x07, new byte[] { 7 })]
    public void TryDecode_WiderEntries_ReadLowBitsFirst(int bits, byte value, byte[] expected)
    {
        var list = StatusList.TryDecode(bits, StatusList.Encode([value]), 16, out _)!;

        Assert.Equal(expected.Length, list.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(list.TryGetStatus(i, out var status));
            Assert.Equal(expected[i], status);
        }
    }

    [Theory]
    [InlineData(3, "'status_list.bits' must be 1, 2, 4 or 8")]
    [InlineData(0, "'status_list.bits' must be 1, 2, 4 or 8")]
    public void TryDecode_BadBits_Refused(int bits, string problem)
    {
        Assert.Null(StatusList.TryDecode(bits, StatusList.Encode([0]), 16, out var actual));
        Assert.Equal(problem, actual);
    }

    [Fact]
    public void TryDecode_NotZlib_Refused()
    {
        // Raw DEFLATE without the ZLIB header, then plain bytes: neither is RFC 1950.
        using var raw = new MemoryStream();
        using (var deflate = new DeflateStream(raw, CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(new byte[64]);
        }

        Assert.Null(StatusList.TryDecode(1, Base64Url.EncodeToString(raw.ToArray()), 1024, out var problem));
        Assert.Equal("'status_list.lst' is not ZLIB-compressed data", problem);
        Assert.Null(StatusList.TryDecode(1, Base64Url.EncodeToString("not compressed at all"u8), 1024, out problem));
        Assert.Equal("'status_list.lst' is not ZLIB-compressed data", problem);
        Assert.Null(StatusList.TryDecode(1, "not base64url!", 1024, out problem));
        Assert.Equal("'status_list.lst' is not base64url", problem);
    }

    [Fact]
    public void TryDecode_Bomb_StopsAtTheCapWithoutInflatingIt()
    {
        // 256 MiB of zeros compress to about 256 KiB; the decoder must give up at the cap, not allocate the lot.
        var lst = StatusList.Encode(new byte[256 * 1024 * 1024]);
        var before = GC.GetAllocatedBytesForCurrentThread();

        Assert.Null(StatusList.TryDecode(1, lst, 1024 * 1024, out var problem));

        Assert.Contains("decompresses to more than 1048576 bytes", problem, StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 * 1024 * 1024, "decoding a bomb allocated more than 16 MiB");
    }

    [Fact]
    public void TryDecode_AtTheCap_Accepted()
    {
        var list = StatusList.TryDecode(1, StatusList.Encode(new byte[1024]), 1024, out _);

        Assert.Equal(8192, list!.Count);
    }
}
