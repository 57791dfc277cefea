using Bcm.Checkpoints;
using Bcm.Imaging;
using Bcm.Plans;
using static TorchSharp.torch;
using static Bcm.Tensors.ScalarMath;

namespace Bcm.Reports;

/// <summary>
/// The files of the editing commands, written by the library so that the CLI, the studio and a library user get the
/// same ones: <c>interpolate</c> (strip.png, path.safetensors), <c>inpaint</c> (inpainted.png, rounds.png),
/// <c>superres</c> (superres.png, rounds.png), <c>restore</c> and <c>edit</c> (one PNG), <c>purify</c>
/// (NAME.purified.png), and psnr.csv beside them when a clean reference is given. Each method returns the path of the main file.
/// </summary>
public static class EditOutputs
{
    /// <summary>strip.png (A, the path, B in one row) and path.safetensors (the path, with the plan, the mix and the checkpoint in its metadata).</summary>
    public static string Interpolation(string outDir, Tensor ends, Tensor path, Plan generate, bool slerp, string checkpoint)
    {
        Directory.CreateDirectory(outDir);
        string strip = Path.Combine(outDir, "strip.png");
        using (var row = cat([ends[..1].cpu(), path.cpu(), ends[1..].cpu()], 0)) ImageIO.SaveGrid(row, strip, columns: (int)row.shape[0]);
        SafeTensors.Save(Path.Combine(outDir, "path.safetensors"), new Dictionary<string, Tensor> { ["path"] = path },
            new Dictionary<string, string> { ["generate"] = generate.ToString(), ["mix"] = slerp ? "slerp" : "lerp", ["checkpoint"] = checkpoint });
        return strip;
    }

    /// <summary>inpainted.png, and rounds.png: the input, the input with the unknown pixels black, then the image after each round.</summary>
    public static string Inpainting(string outDir, Tensor input, Tensor known, Tensor result, IReadOnlyList<Tensor> rounds)
    {
        Directory.CreateDirectory(outDir);
        string main = Path.Combine(outDir, "inpainted.png");
        using (var r0 = result[0]) ImageIO.SavePng(r0, main);
        using (var masked = where(known.expand_as(input), input, FullLike(input, -1)))
            Strip(Path.Combine(outDir, "rounds.png"), [input.cpu(), masked.cpu(), .. rounds]);
        return main;
    }

    /// <summary>superres.png, and rounds.png: the low-resolution input upsampled by pixel repetition, then the image after each round.</summary>
    public static string SuperResolution(string outDir, Tensor upsampledInput, Tensor result, IReadOnlyList<Tensor> rounds)
    {
        Directory.CreateDirectory(outDir);
        string main = Path.Combine(outDir, "superres.png");
        using (var r0 = result[0]) ImageIO.SavePng(r0, main);
        Strip(Path.Combine(outDir, "rounds.png"), [upsampledInput.cpu(), .. rounds]);
        return main;
    }

    /// <summary>The first image of <paramref name="result"/> as <paramref name="fileName"/> (restore: restored.png, edit: edited.png).</summary>
    public static string Single(string outDir, string fileName, Tensor result)
    {
        Directory.CreateDirectory(outDir);
        string main = Path.Combine(outDir, fileName);
        using (var r0 = result[0]) ImageIO.SavePng(r0, main);
        return main;
    }

    /// <summary>
    /// psnr.csv: the PSNR on [0, 1] of each named image against a reference (<c>--clean</c>), at full precision, so that a
    /// number quoted from an edit comes from a file.
    /// </summary>
    public static string Psnr(string outDir, IEnumerable<(string Image, double Psnr)> rows)
    {
        Directory.CreateDirectory(outDir);
        var csv = new IO.CsvTable(["image", "psnr_db"], "R");
        foreach (var (image, psnr) in rows) csv.Row(image, psnr);
        string path = Path.Combine(outDir, "psnr.csv");
        csv.Write(path);
        return path;
    }

    /// <summary>Each purified image as NAME.purified.png, NAME its input file's name without extension.</summary>
    public static void Purified(string outDir, IReadOnlyList<string> names, Tensor purified)
    {
        Directory.CreateDirectory(outDir);
        for (int i = 0; i < names.Count; i++)
            using (var image = purified[i].cpu())
                ImageIO.SavePng(image, Path.Combine(outDir, Path.GetFileNameWithoutExtension(names[i]) + ".purified.png"));
    }

    // Images side by side in one row.
    private static void Strip(string path, Tensor[] images)
    {
        using var row = cat(images, 0);
        ImageIO.SaveGrid(row, path, columns: (int)row.shape[0]);
    }
}
