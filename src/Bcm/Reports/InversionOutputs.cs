using System.Globalization;
using System.Text;
using Bcm.Checkpoints;
using Bcm.Data;
using Bcm.Imaging;
using Bcm.IO;
using Bcm.Metrics;
using Bcm.Plans;
using static TorchSharp.torch;

namespace Bcm.Reports;

/// <summary>
/// The files of an inversion round trip (<c>bcm invert</c>): latents.safetensors (with the plan and the end level in its
/// metadata), each reconstruction as NAME.reconstruction.png (and, for data-set inputs, the input as the model saw it),
/// roundtrip.png (rows of originals above their reconstructions) and metrics.csv (per-image MSE and PSNR on [0, 1], then the mean).
/// </summary>
public static class InversionOutputs
{
    /// <summary>Writes the files of <paramref name="result"/> into <paramref name="outDir"/>.</summary>
    public static void Write(string outDir, ImageInputs inputs, RoundTrip.Result result, Plan invert, string checkpoint)
    {
        Directory.CreateDirectory(outDir);
        SafeTensors.Save(Path.Combine(outDir, "latents.safetensors"), new Dictionary<string, Tensor> { ["latents"] = result.Latents },
            new Dictionary<string, string> { ["plan"] = invert.ToString(), ["sigma"] = invert.End.ToString(CultureInfo.InvariantCulture), ["checkpoint"] = checkpoint });
        for (int i = 0; i < inputs.Count; i++)
        {
            using (var r = result.Reconstructions[i]) ImageIO.SavePng(r, Path.Combine(outDir, $"{inputs.Names[i]}.reconstruction.png"));
            if (inputs.FromDataSet) using (var o = inputs.Images[i]) ImageIO.SavePng(o, Path.Combine(outDir, $"{inputs.Names[i]}.png"));
        }
        AtomicFile.WriteAllText(Path.Combine(outDir, "metrics.csv"), MetricsCsv(inputs.Names, result));
        ImageIO.SavePairs(inputs.Images, result.Reconstructions, Path.Combine(outDir, "roundtrip.png"));
    }

    /// <summary>metrics.csv: <c>image,mse,psnr_db</c>, one row per image, then <c>mean</c>.</summary>
    public static string MetricsCsv(IReadOnlyList<string> names, RoundTrip.Result result)
    {
        var csv = new StringBuilder("image,mse,psnr_db\n");
        for (int i = 0; i < names.Count; i++) csv.Append(CultureInfo.InvariantCulture, $"{names[i]},{result.Mse[i]:F6},{result.Psnr[i]:F3}\n");
        csv.Append(CultureInfo.InvariantCulture, $"mean,{result.MeanMse:F6},{result.MeanPsnr:F3}\n");
        return csv.ToString();
    }
}
