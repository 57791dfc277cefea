namespace Bcm.Inference;

/// <summary>Mixing two latents along a path, as the library's interpolation does.</summary>
public static class Latents
{
    /// <summary>
    /// <paramref name="count"/> mixes of <paramref name="a"/> and <paramref name="b"/> at α = i/(count − 1), one after the
    /// other: spherical (slerp over the flattened latents; the straight line where they are nearly parallel) or linear.
    /// </summary>
    public static float[] Path(ReadOnlySpan<float> a, ReadOnlySpan<float> b, int count, bool slerp = true)
    {
        if (a.Length != b.Length) throw new ArgumentException($"latents of {a.Length} and {b.Length} values cannot be mixed");
        if (count < 2) throw new ArgumentOutOfRangeException(nameof(count), count, "a path needs at least 2 points");
        int n = a.Length;
        var result = new float[(long)count * n];
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < n; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        double theta = Math.Acos(Math.Clamp(dot / (Math.Sqrt(na) * Math.Sqrt(nb)), -1, 1)), sin = Math.Sin(theta);
        for (int k = 0; k < count; k++)
        {
            double alpha = k / (double)(count - 1);
            var mix = result.AsSpan(k * n, n);
            if (alpha == 0) { a.CopyTo(mix); continue; }
            if (alpha == 1) { b.CopyTo(mix); continue; }
            bool straight = !slerp || Math.Abs(sin) < 1e-6;
            float wa = (float)(straight ? 1 - alpha : Math.Sin(theta * (1 - alpha)) / sin);
            float wb = (float)(straight ? alpha : Math.Sin(theta * alpha) / sin);
            for (int i = 0; i < n; i++) mix[i] = wa * a[i] + wb * b[i];
        }
        return result;
    }
}
