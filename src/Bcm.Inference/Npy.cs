using System.Buffers.Binary;
using System.Text;

namespace Bcm.Inference;

/// <summary>A batch as NumPy's <c>.npy</c> (format 1.0, little-endian float32, C order, shape [count, ...sample shape]): <c>np.load</c> reads it.</summary>
public static class Npy
{
    /// <summary>The <c>.npy</c> bytes of <paramref name="batch"/>.</summary>
    public static byte[] Encode(SampleBatch batch)
    {
        string shape = string.Join(", ", new[] { batch.Count }.Concat(batch.SampleShape));
        if (batch.SampleShape.Count == 0) shape += ",";
        string header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({shape}), }}";
        int total = 10 + header.Length + 1;
        int padded = (total + 63) / 64 * 64; // the header is padded with spaces to a multiple of 64 bytes, ending in \n
        header = header.PadRight(padded - 10 - 1) + "\n";
        var bytes = new byte[10 + header.Length + batch.Values.Length * 4L];
        bytes[0] = 0x93;
        Encoding.ASCII.GetBytes("NUMPY").CopyTo(bytes, 1);
        bytes[6] = 1;
        bytes[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header).CopyTo(bytes, 10);
        var data = bytes.AsSpan(10 + header.Length);
        for (int i = 0; i < batch.Values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(data[(4 * i)..], batch.Values[i]);
        return bytes;
    }

    /// <summary>Writes <paramref name="batch"/> as a <c>.npy</c> file (through a temporary file).</summary>
    public static void Write(SampleBatch batch, string path) => Png.WriteAtomically(path, Encode(batch));
}
