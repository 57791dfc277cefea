using System.Security.Cryptography;
using static TorchSharp.torch;

namespace Bcm.Tensors;

/// <summary>
/// SHA-256 of tensors' values as float32, in order: names the weights a measurement was made with (names and shapes are
/// the code's; the values are the run's), whichever engine then runs them.
/// </summary>
public static class TensorFingerprint
{
    /// <summary>The fingerprint of <paramref name="tensors"/> (upper-case hex).</summary>
    public static string Of(IEnumerable<Tensor> tensors)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in tensors)
        {
            using var scope = NewDisposeScope(); // the copies on the way to float32 values
            var values = t.detach().cpu().flatten().to(ScalarType.Float32);
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.data<float>().ToArray().AsSpan()));
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
