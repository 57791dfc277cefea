using Bcm.Model;
using static TorchSharp.torch;
using Bcm.Tensors;

namespace Bcm.Editing;

/// <summary>
/// BCM inpainting (method §6): unknown pixels start as Gaussian noise, then rounds of invert-to-t_r → generate → paste
/// the known pixels back, with decreasing t_r. The paper's figure uses 7 rounds (14 NFE).
/// </summary>
public static class Inpainting
{
    /// <summary>The levels of the paper's 7 rounds (14 NFE).</summary>
    public static readonly double[] DefaultLevels = [80, 40, 20, 10, 5, 2.5, 1.2];

    /// <summary>Fills the pixels where <paramref name="known"/> is false ([B,1,H,W] or the image's shape, broadcast).</summary>
    public static Tensor Run(BcmModel model, Tensor image, Tensor known, IReadOnlyList<double>? levels = null, long seed = 0, Tensor? labels = null,
        Action<int, Tensor>? afterRound = null)
    {
        using var scope = NewDisposeScope();
        var (mask, start) = Start(image, known, seed);
        return Rounds.Run(model, start, levels ?? DefaultLevels, seed, mask, image, labels, afterRound).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The consistency models' own inpainting (Song et al., 2023, "iterative replacement"), the baseline without
    /// inversion: the same start, then per level fresh noise to t_r and one jump to ε, known pixels pasted back after
    /// every round (1 NFE a round).
    /// </summary>
    public static Tensor ConsistencyRounds(BcmModel model, Tensor image, Tensor known, IReadOnlyList<double>? levels = null, long seed = 0)
    {
        using var scope = NewDisposeScope();
        var (mask, start) = Start(image, known, seed);
        return Rounds.ConsistencyRounds(model, start, levels ?? DefaultLevels, seed, x => where(mask, image, x)).MoveToOuterDisposeScope();
    }

    // The known-pixel mask at the image's shape, and the start of the rounds: the known pixels, Gaussian noise clamped to
    // [−1, 1] elsewhere (tensors go to the caller's dispose scope).
    private static (Tensor Mask, Tensor Start) Start(Tensor image, Tensor known, long seed)
    {
        var mask = known.to(ScalarType.Bool).expand_as(image);
        using var g = Randomness.Seeds.Generator(seed, Randomness.Seeds.Sample, -1);
        var noise = randn(image.shape, generator: g).to(image.device).Clamped(-1, 1);
        return (mask, where(mask, image, noise));
    }

    /// <summary>
    /// The classical baseline without a model: harmonic (Laplace) inpainting. The unknown pixels solve the discrete
    /// Laplace equation with the known pixels as boundary values, by Jacobi iterations of the 4-neighbour mean
    /// (replicate padding at the image border) started from the mean of the known pixels of each image and channel.
    /// </summary>
    public static Tensor Harmonic(Tensor image, Tensor known, int iterations = 2_000)
    {
        if (iterations < 1) throw new ArgumentException("give at least one iteration");
        using var scope = NewDisposeScope();
        var mask = known.to(ScalarType.Bool).expand_as(image);
        var weight = mask.to(image.dtype);
        var knownMean = (image * weight).sum([2, 3], keepdim: true) / weight.sum([2, 3], keepdim: true).AtLeast(1);
        var current = where(mask, image, knownMean.expand_as(image));
        long c = image.shape[1];
        var kernel = zeros(new long[] { c, 1, 3, 3 }, dtype: image.dtype, device: image.device);
        foreach (var (dy, dx) in new[] { (0, 1), (1, 0), (1, 2), (2, 1) }) kernel[.., .., dy, dx] = tensor(0.25f, dtype: image.dtype);
        for (int i = 0; i < iterations; i++)
        {
            using var step = NewDisposeScope();
            var padded = nn.functional.pad(current, [1, 1, 1, 1], TorchSharp.PaddingModes.Replicate);
            current = where(mask, image, nn.functional.conv2d(padded, kernel, groups: c)).MoveToOuterDisposeScope();
        }
        return current.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The known pixels [1,1,size,size] (true = kept): a mask image's pixels ≥ 128 (<paramref name="maskPath"/>), else
    /// outside the box <paramref name="box"/> written <c>x,y,w,h</c>, else outside the centre square of half the side (the
    /// region a measurement removes).
    /// </summary>
    public static Tensor KnownPixels(string? maskPath, string? box, int size)
    {
        if (maskPath is not null && box is not null) throw new ArgumentException("give a mask or a box, not both");
        if (maskPath is not null) return Imaging.ImageIO.ReadBatch([maskPath], 1, size).Above(0);
        if (box is null) return BoxMask(size, size, size / 4, size / 4, size / 2, size / 2);
        var v = box.Split(',').Select(t => int.TryParse(t, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int i) ? i : -1).ToArray();
        if (v.Length != 4) throw new ArgumentException($"--box '{box}': expected x,y,w,h");
        return BoxMask(size, size, v[0], v[1], v[2], v[3]);
    }

    /// <summary>A mask [1,1,H,W] that is false (unknown) inside the box and true elsewhere.</summary>
    public static Tensor BoxMask(int height, int width, int x, int y, int w, int h)
    {
        if (w < 1 || h < 1 || x < 0 || y < 0 || (long)x + w > width || (long)y + h > height) // long: x + w must not overflow
            throw new ArgumentException($"box {x},{y},{w},{h} does not fit in a {width}x{height} image");
        var m = ones(1, 1, height, width, dtype: ScalarType.Bool);
        m[.., .., y..(y + h), x..(x + w)] = tensor(false);
        return m;
    }
}
