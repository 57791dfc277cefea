using System.CommandLine;
using Bcm.Editing;
using Bcm.Imaging;
using Bcm.Plans;
using static TorchSharp.torch;

namespace Bcm.Cli;

/// <summary><c>bcm interpolate</c>: between two real images (invert both, mix the latents, regenerate) or between two seeds.</summary>
internal static class InterpolateCommand
{
    public static Command Create()
    {
        var images = new Argument<string[]>("images") { Description = "Two PNG/JPEG images of the model's size and channels (or use --seeds)", Arity = ArgumentArity.ZeroOrMore };
        var seeds = new Option<long[]?>("--seeds") { Description = "Interpolate between the noises of two seeds instead of two images", AllowMultipleArgumentsPerToken = true };
        var count = Common.Count("Images along the path, both ends included (default 9)", 9);
        var lerp = new Option<bool>("--lerp") { Description = "Mix the latents linearly instead of by slerp" };
        var plan = new Option<string>("--plan") { Description = "Inversion plan (default invert1 = 0.07>80)", DefaultValueFactory = _ => "invert1" };
        var regen = new Option<string>("--regenerate") { Description = "Generation plan for each mix (default onestep)", DefaultValueFactory = _ => "onestep" };
        var label = new Option<string?>("--class") { Description = "Class for a conditional model: its name (a labelled folder's class) or its index" };
        var independent = new Option<bool>("--independent-noise") { Description = "Invert the two images with independent initial noise (default: the same noise for both, as the paper does)" };
        var cmd = new Command("interpolate", "Interpolate between two real images (both inverted to noise, latents mixed by slerp, each mix regenerated) " +
                                             "or between two seeds; writes strip.png (A, the path, B) and path.safetensors.")
        {
            images, seeds, Common.Checkpoint, Common.Weights, Common.Preset, Common.Out, Common.Seed, Common.Device, Common.Threads, Common.Engine, count, lerp, plan, regen, label, independent,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            var loaded = Common.LoadImageModel(parse);
            var device = Common.ParseDevice(parse.GetValue(Common.Device)!);
            var generate = PlanPresets.Resolve(parse.GetValue(regen)!);
            int n = parse.GetValue(count);
            if (n < 2) throw new BadInputException("--count must be ≥ 2");
            var shape = loaded.Model.Network.SampleShape;
            var labels = Common.SingleLabel(parse, label, loaded, device);
            long seed = parse.GetValue(Common.Seed);
            bool slerp = !parse.GetValue(lerp);
            var paths = parse.GetValue(images) ?? [];
            Tensor path, ends;
            if (parse.GetValue(seeds) is { Length: > 0 } s)
            {
                if (s.Length != 2 || paths.Length > 0) throw new BadInputException("--seeds takes exactly two seeds, and no images");
                path = Interpolation.BetweenSeeds(loaded.Model, s[0], s[1], n, generate, seed, slerp, labels);
                ends = cat([path[..1], path[^1..]], 0);
            }
            else
            {
                if (paths.Length != 2) throw new BadInputException($"give exactly two images (got {paths.Length}), or --seeds S1 S2");
                var x = ImageIO.ReadBatch(paths, (int)shape[0], (int)shape[^1]).to(device);
                var invert = PlanPresets.Resolve(parse.GetValue(plan)!);
                (_, _, path) = Interpolation.BetweenImages(loaded.Model, x[..1], x[1..], n, invert, generate, seed, slerp, labels, !parse.GetValue(independent));
                ends = x;
            }
            string written = Bcm.Reports.EditOutputs.Interpolation(Common.OutDir(parse.GetValue(Common.Out), "interpolation"), ends, path, generate, slerp, loaded.Source);
            Console.WriteLine($"{n} images from α = 0 to 1 ({(slerp ? "slerp" : "lerp")}, regenerated with {generate}) → {Path.GetFullPath(written)}");
            return 0;
        }));
        return cmd;
    }
}
