namespace Bcm.Studio;

/// <summary>What a panel gets back: the plan and NFE used, the time the evaluation took, PNG data URLs and numbers.</summary>
/// <param name="Plan">The plan (or rounds) as text, in the CLI's form.</param>
/// <param name="Nfe">Network evaluations per image.</param>
/// <param name="Images">Named results as PNG data URLs.</param>
/// <param name="Frames">A sequence of single images (samples, the interpolation path, the inpainting rounds).</param>
/// <param name="Metrics">Named numbers (MSE, PSNR).</param>
public sealed record StudioResult(string Plan, int Nfe, Dictionary<string, string> Images, List<string>? Frames = null, Dictionary<string, double>? Metrics = null)
{
    /// <summary>Time of the evaluation itself (not the wait in the queue), in milliseconds.</summary>
    public double Milliseconds { get; init; }
}

/// <summary>Checks a plan's text.</summary>
public sealed class PlanRequest
{
    /// <summary>A preset name or plan text.</summary>
    public string? Plan { get; init; }
    /// <summary>generate, invert, or null for either.</summary>
    public string? Direction { get; init; }
}

/// <summary>Fields every model request has.</summary>
public abstract class ModelRequest
{
    /// <summary>Seed of the noise (default 0): the same seed gives the CLI's result.</summary>
    public long Seed { get; init; }
    /// <summary>Class label of a conditional model.</summary>
    public int? Label { get; init; }
}

/// <summary>Generation with a plan.</summary>
public sealed class SampleRequest : ModelRequest
{
    /// <summary>A preset name or plan text (default onestep).</summary>
    public string? Plan { get; init; }
    /// <summary>Images to make (default 16).</summary>
    public int Count { get; init; } = 16;
}

/// <summary>Inversion and regeneration of one image.</summary>
public sealed class InvertRequest : ModelRequest
{
    /// <summary>The image (PNG or JPEG data URL).</summary>
    public string? Image { get; init; }
    /// <summary>Inversion plan (default invert1).</summary>
    public string? Plan { get; init; }
    /// <summary>Regeneration plan (default onestep).</summary>
    public string? Regenerate { get; init; }
}

/// <summary>Interpolation between two images.</summary>
public sealed class InterpolateRequest : ModelRequest
{
    /// <summary>The first image.</summary>
    public string? A { get; init; }
    /// <summary>The second image.</summary>
    public string? B { get; init; }
    /// <summary>Images along the path, both ends included (default 9).</summary>
    public int Count { get; init; } = 9;
    /// <summary>Inversion plan (default invert1).</summary>
    public string? Plan { get; init; }
    /// <summary>Regeneration plan (default onestep).</summary>
    public string? Regenerate { get; init; }
    /// <summary>Mix linearly instead of by slerp.</summary>
    public bool Lerp { get; init; }
    /// <summary>Invert the two images with independent initial noise.</summary>
    public bool IndependentNoise { get; init; }
}

/// <summary>Inpainting.</summary>
public sealed class InpaintRequest : ModelRequest
{
    /// <summary>The image.</summary>
    public string? Image { get; init; }
    /// <summary>The mask at the model's size: white (≥ 128) = known pixels, black = pixels to fill.</summary>
    public string? Mask { get; init; }
    /// <summary>Round levels, comma-separated and decreasing (default the paper's 7 rounds).</summary>
    public string? Levels { get; init; }
}

/// <summary>Blind restoration, of a JPEG made here at a quality or of an image already degraded.</summary>
public sealed class RestoreRequest : ModelRequest
{
    /// <summary>The image: clean when <see cref="Quality"/> is given (it is JPEG-compressed here first), else the degraded image.</summary>
    public string? Image { get; init; }
    /// <summary>JPEG quality 1-100, or null when the image is already degraded.</summary>
    public int? Quality { get; init; } = 15;
    /// <summary>Round levels (default those of bcm restore).</summary>
    public string? Levels { get; init; }
}

/// <summary>Stroke-guided editing of a painted image.</summary>
public sealed class EditRequest : ModelRequest
{
    /// <summary>The painted image.</summary>
    public string? Image { get; init; }
    /// <summary>Round levels (default 5).</summary>
    public string? Levels { get; init; }
}

/// <summary>PNG data URLs in and out.</summary>
internal static class DataUrl
{
    public static string Png(byte[] png) => "data:image/png;base64," + Convert.ToBase64String(png);

    /// <summary>The bytes of a data URL (or of plain base64).</summary>
    public static byte[] Decode(string? value, string field)
    {
        if (string.IsNullOrEmpty(value)) throw new BadInputException($"{field}: missing (a PNG or JPEG as a data URL)");
        int comma = value.StartsWith("data:", StringComparison.Ordinal) ? value.IndexOf(',') : -1;
        if (value.StartsWith("data:", StringComparison.Ordinal) && (comma < 0 || !value[..comma].EndsWith(";base64", StringComparison.Ordinal)))
            throw new BadInputException($"{field}: a data URL must be base64 (data:image/png;base64,…)");
        try
        {
            return Convert.FromBase64String(value[(comma + 1)..]);
        }
        catch (FormatException)
        {
            throw new BadInputException($"{field}: not valid base64");
        }
    }
}
