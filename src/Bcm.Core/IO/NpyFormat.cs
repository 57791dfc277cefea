using System.Buffers.Binary;
using System.Text;

namespace Bcm.IO;

/// <summary>NumPy's <c>.npy</c> format 1.0: the header of a C-ordered array, which both engines' writers put before their values.</summary>
public static class NpyFormat
{
    /// <summary>The header of an array of <paramref name="descr"/> (<c>&lt;f4</c>, <c>|u1</c>, <c>&lt;i8</c>) and <paramref name="shape"/>, padded with spaces to a multiple of 64 bytes and ending in a newline.</summary>
    public static byte[] Header(string descr, IReadOnlyList<long> shape)
    {
        string dims = string.Join(", ", shape) + (shape.Count == 1 ? "," : "");
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}";
        int padded = (10 + dict.Length + 1 + 63) / 64 * 64;
        string header = dict.PadRight(padded - 10 - 1) + "\n";
        var bytes = new byte[10 + header.Length];
        bytes[0] = 0x93;
        Encoding.ASCII.GetBytes("NUMPY").CopyTo(bytes, 1);
        bytes[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header).CopyTo(bytes, 10);
        return bytes;
    }
}
