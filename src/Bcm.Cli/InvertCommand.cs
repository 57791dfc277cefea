using System.CommandLine;
using Bcm.Metrics;
using Bcm.Data;
using Bcm.Reports;
using Bcm.Plans;

namespace Bcm.Cli;

/// <summary><c>bcm invert</c>: images → latent noise (one jump by default), then regenerate and measure the round trip.</summary>
internal static class InvertCommand
{
    public static Command Create()
    {
        var images = new Argument<string[]>("images") { Description = "PNG/JPEG images of the model's size and channels", Arity = ArgumentArity.ZeroOrMore };
        var plan = new Option<string>("--plan") { Description = "Inversion plan (default invert1 = 0.07>80): " + PlanPresets.Help, DefaultValueFactory = _ => "invert1" };
        var regen = new Option<string>("--regenerate") { Description = "Plan that regenerates images from the latents (default onestep)", DefaultValueFactory = _ => "onestep" };
        var count = Common.Count("With --data: how many images to take (default 32)", 32);
        var label = new Option<int[]?>("--class") { Description = "Class labels for a conditional model (one, or one per image)", AllowMultipleArgumentsPerToken = true };
        var cmd = new Command("invert", "Invert images to latent noise along the PF-ODE and regenerate them: writes latents.safetensors, " +
                                        "reconstructions (PNG), roundtrip.png (rows of originals above their reconstructions) and metrics.csv (per-image MSE and PSNR on [0, 1]).")
        {
            images, Common.Checkpoint, Common.Weights, Common.Preset, Common.Data, Common.Out, Common.Seed, Common.Device, Common.Threads, Common.Engine, plan, regen, count, label,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            var loaded = Common.LoadImageModel(parse);
            var device = Common.ParseDevice(parse.GetValue(Common.Device)!);
            var invert = PlanPresets.Resolve(parse.GetValue(plan)!);
            var generate = PlanPresets.Resolve(parse.GetValue(regen)!);
            Plan.CheckRoundTrip(invert, generate); // before any image is read
            var shape = loaded.Model.Network.SampleShape;
            int channels = (int)shape[0], size = (int)shape[^1], classes = loaded.Model.Network.NumClasses;
            var paths = parse.GetValue(images) ?? [];
            string? dataSpec = parse.GetValue(Common.Data);
            if (paths.Length > 0 && dataSpec is not null) throw new BadInputException("give images or --data, not both");
            using var inputs = (paths.Length > 0 ? ImageInputs.FromFiles(paths, channels, size)
                    : dataSpec is not null ? ImageInputs.FromData(dataSpec, channels, size, parse.GetValue(count), classes > 0)
                    : throw new BadInputException("give images to invert (PNG/JPEG paths) or --data SPEC"))
                .WithLabels(parse.GetValue(label), classes).To(device);
            string outDir = Common.OutDir(parse.GetValue(Common.Out), "inversion");
            using var result = RoundTrip.Run(loaded.Model, inputs.Images, invert, generate, parse.GetValue(Common.Seed), inputs.Labels);
            InversionOutputs.Write(outDir, inputs, result, invert, loaded.Source);
            int nImages = inputs.Count;
            Console.WriteLine($"{nImages} images inverted ({invert}, {invert.Nfe} NFE) and regenerated ({generate}, {generate.Nfe} NFE): " +
                              $"mean MSE {result.MeanMse:F5}, PSNR {result.MeanPsnr:F2} dB (pixels on [0, 1]) → {Path.GetFullPath(outDir)}");
            return 0;
        }));
        return cmd;
    }
}
