using System.Buffers.Binary;
using System.IO.Compression;
using Bcm.Imaging;
using Xunit;

namespace Bcm.Tests;

/// <summary>Images are read strictly: dimensions from the header before any decoding, no partly decoded images, colours of transparent pixels kept.</summary>
public sealed class ImageDecodingTests
{
    /// <summary>A PNG of 8-bit RGBA pixels, written by hand so that tests can make any header and any damage.</summary>
    private static byte[] Png(int width, int height, byte[] rgba, int? declaredWidth = null, int? declaredHeight = null)
    {
        using var file = new MemoryStream();
        file.Write([137, 80, 78, 71, 13, 10, 26, 10]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, declaredWidth ?? width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), declaredHeight ?? height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 6; // RGBA
        Chunk(file, "IHDR", ihdr);
        using var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(0); // no filter
            raw.Write(rgba, y * width * 4, width * 4);
        }
        using var packed = new MemoryStream();
        using (var z = new ZLibStream(packed, CompressionLevel.Optimal, leaveOpen: true)) z.Write(raw.ToArray());
        Chunk(file, "IDAT", packed.ToArray());
        Chunk(file, "IEND", []);
        return file.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var header = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, data.Length);
        System.Text.Encoding.ASCII.GetBytes(type, header.AsSpan(4));
        s.Write(header);
        s.Write(data);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32([.. header[4..], .. data]));
        s.Write(crc);
    }

    private static uint Crc32(byte[] bytes)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }

    private static string Write(byte[] bytes)
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "image.png");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Gradient(int w, int h) => Enumerable.Range(0, w * h * 4).Select(i => (byte)(i % 4 == 3 ? 255 : (i * 7) % 256)).ToArray();

    [Fact]
    public void AHandMadePngReadsBackExactly()
    {
        var pixels = Gradient(8, 8);
        Assert.Equal(pixels, ImageIO.ReadRgba(Write(Png(8, 8, pixels)), out int w, out int h));
        Assert.Equal((8, 8), (w, h));
    }

    [Fact]
    public void TransparentPixelsKeepTheirColour()
    {
        var rgba = ImageIO.ReadRgba(Write(Png(1, 1, [200, 10, 30, 0])), out _, out _);
        Assert.Equal(new byte[] { 200, 10, 30, 0 }, rgba); // premultiplied decoding would give 0, 0, 0, 0
    }

    [Fact]
    public void ATruncatedPngIsAnErrorNotAnImageWithBlackRows()
    {
        var bytes = Png(16, 16, Gradient(16, 16));
        int idat = IndexOf(bytes, "IDAT"u8.ToArray());
        var cut = bytes[..(idat + 4 + 20)]; // 20 bytes into the compressed pixels
        var e = Assert.Throws<InvalidDataException>(() => ImageIO.ReadRgba(Write(cut), out _, out _));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void CorruptPixelDataIsAnError()
    {
        var bytes = Png(16, 16, Gradient(16, 16));
        int idat = IndexOf(bytes, "IDAT"u8.ToArray());
        for (int i = idat + 8; i < idat + 40; i++) bytes[i] ^= 0x5A; // damage the zlib stream (the CRC no longer matches either)
        Assert.Throws<InvalidDataException>(() => ImageIO.ReadRgba(Write(bytes), out _, out _));
    }

    [Fact]
    public void AHugeDeclaredSizeIsRefusedBeforeDecoding()
    {
        // A few hundred bytes that declare 20000 × 20000 pixels (1.6 GB of RGBA).
        string path = Write(Png(1, 1, [1, 2, 3, 255], declaredWidth: 20000, declaredHeight: 20000));
        long before = GC.GetTotalAllocatedBytes();
        var e = Assert.Throws<InvalidDataException>(() => ImageIO.ReadRgba(path, out _, out _));
        Assert.Contains("20000x20000", e.Message);
        Assert.True(GC.GetTotalAllocatedBytes() - before < 50_000_000, "nothing of the declared size was allocated");
        // A command that needs 8x8 images refuses on the header alone.
        Assert.Contains("the model takes 8x8", Assert.Throws<InvalidDataException>(() => ImageIO.ReadPixels(path, 1, 8, resize: false)).Message);
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
            if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle)) return i;
        return -1;
    }
}
