using System.CommandLine;
using System.Globalization;
using System.Text;
using Bcm.Metrics;
using Bcm.Data;
using Bcm.Imaging;
using Bcm.Plans;
using static TorchSharp.torch;

namespace Bcm.Cli;

/// <summary><c>bcm invert</c>: images → latent noise (one jump by default), then regenerate and measure the round trip.</summary>
internal static class InvertCommand
{
    public static Command Create()
    {
        var images = new Argument<string[]>("images") { Description = "PNG/JPEG images of the model's size and channels", Arity = ArgumentArity.ZeroOrMore };
        var plan = new Option<string>("--plan") { Description = "Inversion plan (default invert1 = 0.07>80): " + PlanPresets.Help, DefaultValueFactory = _ => "invert1" };
        var regen = new Option<string>("--regenerate") { Description = "Plan that regenerates images from the latents (default onestep)", DefaultValueFactory = _ => "onestep" };
        var count = new Option<int>("--count", "-n") { Description = "With --data: how many images to take (default 32)", DefaultValueFactory = _ => 32 };
        var label = new Option<int[]?>("--class") { Description = "Class labels for a conditional model (one, or one per image)", AllowMultipleArgumentsPerToken = true };
        var cmd = new Command("invert", "Invert images to latent noise along the PF-ODE and regenerate them: writes latents.safetensors, " +
                                        "reconstructions (PNG), roundtrip.png (rows of originals above their reconstructions) and metrics.csv (per-image MSE and PSNR on [0, 1]).")
        {
            images, Common.Checkpoint, Common.Preset, Common.Data, Common.Out, Common.Seed, Common.Device, Common.Threads, plan, regen, count, label,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            var loaded = Common.LoadImageModel(parse.GetValue(Common.Checkpoint), parse.GetValue(Common.Preset), parse.GetValue(Common.Device)!);
            var device = Common.ParseDevice(parse.GetValue(Common.Device)!);
            var invert = PlanPresets.Resolve(parse.GetValue(plan)!);
            var generate = PlanPresets.Resolve(parse.GetValue(regen)!);
            Plan.CheckRoundTrip(invert, generate); // before any image is read
            var shape = loaded.Model.Network.SampleShape;
            int channels = (int)shape[0], size = (int)shape[^1];
            var paths = parse.GetValue(images) ?? [];
            string? dataSpec = parse.GetValue(Common.Data);
            Tensor x;
            Tensor? labels = null;
            string[] names;
            if (paths.Length > 0)
            {
                x = ImageIO.ReadBatch(paths, channels, size);
                names = paths.Select(Path.GetFileNameWithoutExtension).ToArray()!;
            }
            else if (dataSpec is not null)
            {
                var set = DataSources.Load(dataSpec, channels, size);
                if (set.Channels != channels) throw new CliError($"{set.Name} has {set.Channels} channel(s), the model takes {channels}");
                var idx = Enumerable.Range(0, Math.Min(parse.GetValue(count), set.Count)).ToArray();
                x = set.Batch(idx, size);
                labels = loaded.Model.Network.NumClasses > 0 ? set.LabelBatch(idx) : null;
                names = idx.Select(i => $"image-{i:D5}").ToArray();
            }
            else throw new CliError("give images to invert (PNG/JPEG paths) or --data SPEC");
            int nImages = (int)x.shape[0];
            if (loaded.Model.Network.NumClasses > 0 && labels is null)
            {
                var given = parse.GetValue(label) ?? throw new CliError("the model is class-conditional: give --class (one label, or one per image)");
                if (given.Length != 1 && given.Length != nImages) throw new CliError($"--class: {given.Length} labels for {nImages} images");
                labels = tensor(Enumerable.Range(0, nImages).Select(i => (long)given[given.Length == 1 ? 0 : i]).ToArray());
            }
            x = x.to(device);
            labels = labels?.to(device);
            string outDir = Common.OutDir(parse.GetValue(Common.Out), "inversion");
            using var result = RoundTrip.Run(loaded.Model, x, invert, generate, parse.GetValue(Common.Seed), labels);
            Checkpoints.SafeTensors.Save(Path.Combine(outDir, "latents.safetensors"), new Dictionary<string, Tensor> { ["latents"] = result.Latents },
                new Dictionary<string, string> { ["plan"] = invert.ToString(), ["sigma"] = invert.End.ToString(CultureInfo.InvariantCulture), ["checkpoint"] = loaded.Source });
            var csv = new StringBuilder("image,mse,psnr_db\n");
            for (int i = 0; i < nImages; i++)
            {
                using (var r = result.Reconstructions[i]) ImageIO.SavePng(r, Path.Combine(outDir, $"{names[i]}.reconstruction.png"));
                if (paths.Length == 0) using (var o = x[i]) ImageIO.SavePng(o, Path.Combine(outDir, $"{names[i]}.png")); // the data-set input as the model saw it
                csv.Append(CultureInfo.InvariantCulture, $"{names[i]},{result.Mse[i]:F6},{result.Psnr[i]:F3}\n");
            }
            csv.Append(CultureInfo.InvariantCulture, $"mean,{result.MeanMse:F6},{result.MeanPsnr:F3}\n");
            IO.AtomicFile.WriteAllText(Path.Combine(outDir, "metrics.csv"), csv.ToString());
            ImageIO.SavePairs(x, result.Reconstructions, Path.Combine(outDir, "roundtrip.png"));
            Console.WriteLine($"{nImages} images inverted ({invert}, {invert.Nfe} NFE) and regenerated ({generate}, {generate.Nfe} NFE): " +
                              $"mean MSE {result.MeanMse:F5}, PSNR {result.MeanPsnr:F2} dB → {Path.GetFullPath(outDir)}");
            return 0;
        }));
        return cmd;
    }
}
