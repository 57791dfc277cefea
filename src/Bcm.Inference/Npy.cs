using System.Buffers.Binary;

namespace Bcm.Inference;

/// <summary>A batch as NumPy's <c>.npy</c> (format 1.0, little-endian float32, C order, shape [count, ...sample shape]): <c>np.load</c> reads it.</summary>
public static class Npy
{
    /// <summary>The <c>.npy</c> bytes of <paramref name="batch"/>.</summary>
    public static byte[] Encode(SampleBatch batch)
    {
        var header = Bcm.IO.NpyFormat.Header("<f4", [batch.Count, .. batch.SampleShape.Select(v => (long)v)]);
        var bytes = new byte[header.Length + batch.Values.Length * 4L];
        header.CopyTo(bytes, 0);
        var data = bytes.AsSpan(header.Length);
        for (int i = 0; i < batch.Values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(data[(4 * i)..], batch.Values[i]);
        return bytes;
    }

    /// <summary>Writes <paramref name="batch"/> as a <c>.npy</c> file (through a temporary file).</summary>
    public static void Write(SampleBatch batch, string path) => Png.WriteAtomically(path, Encode(batch));
}
