using System.CommandLine;
using Bcm.Distributed;
using Bcm.Editing;
using Bcm.Evaluation;
using Bcm.Imaging;
using Bcm.Metrics;
using Bcm.Reports;
using static TorchSharp.torch;

namespace Bcm.Cli;

/// <summary><c>bcm superres</c>: super-resolution by iterative replacement.</summary>
internal static class SuperResCommand
{
    public static Command Create()
    {
        var image = new Argument<string>("image") { Description = "Low-resolution image: the model's size divided by --factor (make one with bcm degrade --downsample F)" };
        var factor = new Option<int>("--factor") { Description = "Upsampling factor (default 2)", DefaultValueFactory = _ => 2 };
        var clean = new Option<string?>("--clean") { Description = "The full-resolution image, to report PSNR against it (and of bilinear upsampling); also written to psnr.csv" };
        var cmd = new Command("superres", "Super-resolution by iterative replacement: rounds of jump up → jump down, each followed by putting back the given " +
                                          $"image's block averages, so the output downsamples exactly to the input (default levels {string.Join(",", SuperResolution.DefaultLevels)}: " +
                                          $"{Rounds.Nfe(SuperResolution.DefaultLevels)} NFE).")
        {
            image, factor, clean, RoundsCommand.LevelsOption, RoundsCommand.Label, Common.Checkpoint, Common.Weights, Common.Preset, Common.Out, Common.Seed, Common.Device, Common.Threads, Common.Engine,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            var (model, channels, size, device, labels) = RoundsCommand.Load(parse);
            int f = parse.GetValue(factor);
            if (f < 2 || size % f != 0) throw new BadInputException($"--factor must be ≥ 2 and divide the model's size {size}");
            string path = parse.GetValue(image)!;
            ImageIO.ReadRgba(path, out int w, out int h);
            if (w != size / f || h != size / f)
                throw new BadInputException($"{path} is {w}x{h}: superres takes a {size / f}x{size / f} image (the model's {size}x{size} divided by --factor {f}); make one with bcm degrade --downsample {f}");
            var low = ImageIO.ReadBatch([path], channels, size / f).to(device);
            var levels = RoundsCommand.Levels(parse, SuperResolution.DefaultLevels);
            var rounds = new List<Tensor>();
            var result = SuperResolution.Run(model, low, f, levels, parse.GetValue(Common.Seed), labels, (_, cur) => rounds.Add(cur.cpu().DetachFromDisposeScope()));
            string written = EditOutputs.SuperResolution(Common.OutDir(parse.GetValue(Common.Out), "superres"), SuperResolution.Upsample(low, f), result, rounds);
            using var bilinear = nn.functional.interpolate(low, [size, size], mode: InterpolationMode.Bilinear, align_corners: false);
            string report = $"upsampled {f}x with {levels.Length} rounds ({Rounds.Nfe(levels)} NFE) → {Path.GetFullPath(written)}";
            if (parse.GetValue(clean) is string cleanPath)
            {
                using var c = ImageIO.ReadBatch([cleanPath], channels, size).to(device);
                double psnr = RoundTrip.Metrics(c, result).Psnr[0], psnrBilinear = RoundTrip.Metrics(c, bilinear).Psnr[0];
                EditOutputs.Psnr(Path.GetDirectoryName(written)!, [("superres", psnr), ("bilinear", psnrBilinear)]);
                report += $"; PSNR against the clean image {psnr:F2} dB (bilinear upsampling {psnrBilinear:F2} dB; psnr.csv)";
            }
            Console.WriteLine(report);
            return 0;
        }));
        return cmd;
    }
}
