using System.CommandLine;
using System.Globalization;
using Bcm.Metrics;
using Bcm.Distributed;
using Bcm.Editing;
using Bcm.Evaluation;
using Bcm.Imaging;
using Bcm.Plans;
using Bcm.Reports;
using static TorchSharp.torch;
using Bcm.Tensors;
using static Bcm.Tensors.ScalarMath;

namespace Bcm.Cli;

/// <summary><c>bcm inpaint</c>, <c>bcm degrade</c> and <c>bcm restore</c>: editing that needs both directions.</summary>
internal static class EditCommands
{
    private static readonly Option<string?> LevelsOption = new("--levels") { Description = "Noise levels t_r of the rounds, comma-separated and decreasing (each round: +0.07 noise, jump to t_r, jump to ε; 2 NFE)" };
    private static readonly Option<int?> Label = new("--class") { Description = "Class label for a conditional model" };

    public static Command Inpaint()
    {
        var image = new Argument<string?>("image") { Description = "Image to complete (the model's size and channels); omit it with --data", Arity = ArgumentArity.ZeroOrOne };
        var mask = new Option<string?>("--mask") { Description = "Mask PNG of the same size: white (≥ 128) = known pixels kept, black = pixels to fill" };
        var box = new Option<string?>("--box") { Description = "Region to fill as x,y,w,h in pixels (instead of --mask; with --data the default is the centre square of half the side)" };
        var data = Common.DataToMeasure("Measure on a data set instead of one image (the same region removed from each)");
        var count = Common.Count("Images to measure with --data", 200);
        var offset = Common.Offset();
        var cmd = new Command("inpaint", "Fill the unknown pixels of an image: noise, then rounds of invert-to-t_r → generate → paste the known pixels back " +
                                         $"(default levels {string.Join(",", Inpainting.DefaultLevels)}: 14 NFE). Known pixels of the output equal the input exactly. " +
                                         "With --data, a measurement instead: the region removed from N images of a data set and filled by BCM, by consistency-model " +
                                         "rounds without inversion (same levels, 1 NFE a round) and by harmonic filling; error in the region, FID/KID and kept predictions.")
        {
            image, mask, box, data, count, offset, Common.Classifier, LevelsOption, Label, Common.Checkpoint, Common.Weights, Common.Preset, Common.Out, Common.Seed,
            Common.Device, Common.Threads, Common.Engine,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            string? spec = parse.GetValue(data);
            if (spec is not null && parse.GetValue(image) is not null) throw new BadInputException("give an image or --data, not both");
            if (spec is null && parse.GetValue(image) is null) throw new BadInputException("give the image to inpaint (or --data to measure on a data set)");
            if (parse.GetValue(mask) is not null && parse.GetValue(box) is not null) throw new BadInputException("give --mask or --box, not both");
            var (model, channels, size, device, labels) = Load(parse);
            Tensor known;
            if (parse.GetValue(mask) is string maskPath)
                known = ImageIO.ReadBatch([maskPath], 1, size).Above(0).to(device);
            else if (parse.GetValue(box) is string b)
            {
                var v = b.Split(',').Select(t => int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) ? i : -1).ToArray();
                if (v.Length != 4) throw new BadInputException($"--box '{b}': expected x,y,w,h");
                known = Inpainting.BoxMask(size, size, v[0], v[1], v[2], v[3]).to(device);
            }
            else if (spec is not null) known = Inpainting.BoxMask(size, size, size / 4, size / 4, size / 2, size / 2).to(device);
            else throw new BadInputException("give the region to fill: --mask MASK.png or --box x,y,w,h");
            var levels = Levels(parse, Inpainting.DefaultLevels);
            if (spec is not null) return MeasureInpainting(parse, model, device, labels, known, levels,
                new EvaluationSetOptions { Data = spec, Count = parse.GetValue(count), Offset = parse.GetValue(offset), Classifier = parse.GetValue(Common.Classifier), ClassifierNeed = ClassifierNeed.IfPresent });
            var x = ImageIO.ReadBatch([parse.GetValue(image)!], channels, size).to(device);
            var rounds = new List<Tensor>();
            var result = Inpainting.Run(model, x, known, levels, parse.GetValue(Common.Seed), labels, (_, cur) => rounds.Add(cur.cpu().DetachFromDisposeScope()));
            string written = EditOutputs.Inpainting(Common.OutDir(parse.GetValue(Common.Out), "inpainting"), x, known, result, rounds);
            Console.WriteLine($"inpainted with {levels.Length} rounds ({Rounds.Nfe(levels)} NFE) → {Path.GetFullPath(written)} (rounds.png: input, masked, each round)");
            return 0;
        }));
        return cmd;
    }

    // inpaint --data: the region removed from N images of a data set, filled by each method and scored.
    private static int MeasureInpainting(ParseResult parse, Model.BcmModel model, Device device, Tensor? labels, Tensor known, double[] levels, EvaluationSetOptions data)
    {
        if (World.LaunchedSize > 1) throw new BadInputException("inpaint --data runs as one process");
        EvaluationSet.RequireUnconditional(model.Network.NumClasses, "inpaint --data");
        using var set = EvaluationSet.Open(data, model.Network.SampleShape, device);
        string outDir = Common.OutDir(parse.GetValue(Common.Out), "inpainting");
        Console.WriteLine($"{set.Description}, rounds {string.Join(",", levels)}" + (set.Classifier is null
            ? $" (no classifier at {set.ClassifierPath}: no FID/KID; train one with bcm classifier --data {data.Data} --size {model.Network.SampleShape[^1]})" : ""));
        InpaintingReport.Write(model, set.Classifier, set.Images!, known, levels, parse.GetValue(Common.Seed), outDir,
            new SyncProgress<InpaintingReport.Row>(r => Console.WriteLine(
                $"{r.Method,-10} NFE {r.Nfe,3}  hole RMSE {r.HoleRmse:F4}  PSNR {r.Psnr,6:F2} dB" +
                (double.IsNaN(r.Fid) ? "" : $"  FID {r.Fid,8:F2}  KID×1000 {1000 * r.Kid,7:F2}  prediction kept {r.PredictionKept:P1}"))));
        Console.WriteLine($"→ {Path.GetFullPath(Path.Combine(outDir, "inpainting.md"))} (inpainting.png rows: clean, masked, BCM, consistency-model rounds, harmonic)");
        return 0;
    }

    public static Command Degrade()
    {
        var images = new Argument<string[]>("images") { Description = "PNG/JPEG images", Arity = ArgumentArity.OneOrMore };
        var quality = new Option<int>("--jpeg-quality", "-q") { Description = "JPEG quality 1-100 (default 15)", DefaultValueFactory = _ => 15 };
        var downsample = new Option<int?>("--downsample") { Description = "Instead of JPEG: average F×F pixel blocks (inputs for bcm superres --factor F)" };
        var cmd = new Command("degrade", "Make test inputs: JPEG-compress images (SkiaSharp's encoder) and decode them again as PNG, for bcm restore; " +
                                         "or with --downsample F, shrink them by block averaging, for bcm superres.")
        {
            images, quality, downsample, Common.Out,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            int q = parse.GetValue(quality);
            if (q is < 1 or > 100) throw new BadInputException("--jpeg-quality must be in 1..100");
            string outDir = Common.OutDir(parse.GetValue(Common.Out), "degraded");
            if (parse.GetValue(downsample) is int f && f < 2) throw new BadInputException("--downsample must be ≥ 2");
            foreach (var path in parse.GetValue(images)!)
                Console.WriteLine(parse.GetValue(downsample) is int factor ? Degradation.DownsampleFile(path, factor, outDir) : Degradation.JpegFile(path, q, outDir));
            return 0;
        }));
        return cmd;
    }

    public static Command SuperRes()
    {
        var image = new Argument<string>("image") { Description = "Low-resolution image: the model's size divided by --factor (make one with bcm degrade --downsample F)" };
        var factor = new Option<int>("--factor") { Description = "Upsampling factor (default 2)", DefaultValueFactory = _ => 2 };
        var clean = new Option<string?>("--clean") { Description = "The full-resolution image, to report PSNR against it (and of bilinear upsampling)" };
        var cmd = new Command("superres", "Super-resolution by iterative replacement: rounds of jump up → jump down, each followed by putting back the given " +
                                          $"image's block averages, so the output downsamples exactly to the input (default levels {string.Join(",", SuperResolution.DefaultLevels)}: " +
                                          $"{Rounds.Nfe(SuperResolution.DefaultLevels)} NFE).")
        {
            image, factor, clean, LevelsOption, Label, Common.Checkpoint, Common.Weights, Common.Preset, Common.Out, Common.Seed, Common.Device, Common.Threads, Common.Engine,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            var (model, channels, size, device, labels) = Load(parse);
            int f = parse.GetValue(factor);
            if (f < 2 || size % f != 0) throw new BadInputException($"--factor must be ≥ 2 and divide the model's size {size}");
            string path = parse.GetValue(image)!;
            ImageIO.ReadRgba(path, out int w, out int h);
            if (w != size / f || h != size / f)
                throw new BadInputException($"{path} is {w}x{h}: superres takes a {size / f}x{size / f} image (the model's {size}x{size} divided by --factor {f}); make one with bcm degrade --downsample {f}");
            var low = ImageIO.ReadBatch([path], channels, size / f).to(device);
            var levels = Levels(parse, SuperResolution.DefaultLevels);
            var rounds = new List<Tensor>();
            var result = SuperResolution.Run(model, low, f, levels, parse.GetValue(Common.Seed), labels, (_, cur) => rounds.Add(cur.cpu().DetachFromDisposeScope()));
            string written = EditOutputs.SuperResolution(Common.OutDir(parse.GetValue(Common.Out), "superres"), SuperResolution.Upsample(low, f), result, rounds);
            using var bilinear = nn.functional.interpolate(low, [size, size], mode: InterpolationMode.Bilinear, align_corners: false);
            string report = $"upsampled {f}x with {levels.Length} rounds ({Rounds.Nfe(levels)} NFE) → {Path.GetFullPath(written)}";
            if (parse.GetValue(clean) is string cleanPath)
            {
                using var c = ImageIO.ReadBatch([cleanPath], channels, size).to(device);
                report += $"; PSNR against the clean image {RoundTrip.Metrics(c, result).Psnr[0]:F2} dB (bilinear upsampling {RoundTrip.Metrics(c, bilinear).Psnr[0]:F2} dB)";
            }
            Console.WriteLine(report);
            return 0;
        }));
        return cmd;
    }

    public static Command Restore()
    {
        var data = Common.DataToMeasure("Measure on a data set instead of one image");
        var count = Common.Count("Images to measure with --data", 200);
        var offset = Common.Offset();
        var qualities = new Option<string>("--jpeg-quality", "-q") { Description = "JPEG qualities to measure with --data, comma-separated (default 10,15,20)", DefaultValueFactory = _ => "10,15,20" };
        var nfes = new Option<string?>("--nfe") { Description = "With --data: measure by FID/KID over these NFE budgets instead (e.g. 2,4,6,8,12), against the JPEG input, a blur and consistency-model-style rounds; each method's levels are chosen on the --choose-count images after the measured ones" };
        var chooseCount = new Option<int>("--choose-count") { Description = "With --nfe: images (after the measured ones) on which each method's levels are chosen", DefaultValueFactory = _ => 200 };
        return RoundsCommand("restore", "Degraded image (the model's size and channels); omit it with --data",
            "Blind restoration: zigzag rounds on the degraded image, without knowing the degradation " +
            $"(default levels {string.Join(",", Restoration.DefaultLevels)}: {Rounds.Nfe(Restoration.DefaultLevels)} NFE). With --data, a measurement " +
            "instead: JPEG-compress N images of a data set at each quality, restore them and report PSNR before and after.",
            Restoration.DefaultLevels, (m, x, l, s, y) => Restoration.Run(m, x, l, s, y), "restored.png", "restoration", [data, count, offset, qualities, nfes, chooseCount, Common.Classifier], (parse, image) =>
        {
            if (parse.GetValue(data) is null)
                return World.LaunchedSize > 1 ? throw new BadInputException("under mpirun, bcm restore measures a data set (--data); restore one image as one process") : null;
            if (parse.GetValue(image) is not null) throw new BadInputException("give an image or --data, not both");
            var (model, _, _, device, labels) = Load(parse);
            var images = new EvaluationSetOptions { Data = parse.GetValue(data)!, Count = parse.GetValue(count), Offset = parse.GetValue(offset), ClassifierNeed = ClassifierNeed.None };
            images.Validate();
            var qs = Common.Integers(parse.GetValue(qualities)!, "--jpeg-quality", 1, 100);
            if (parse.GetValue(nfes) is string sweep)
                return NfeSweep(parse, model, device, qs, sweep, images with { ChooseCount = parse.GetValue(chooseCount), Classifier = parse.GetValue(Common.Classifier), ClassifierNeed = ClassifierNeed.Required });
            var levels = Levels(parse, Restoration.DefaultLevels);
            var job = World.Current; // under mpirun each rank restores its share of the images
            if (images.Count < job.Size) throw new BadInputException($"-n {images.Count} images cannot be shared by {job.Size} processes");
            using var set = EvaluationSet.Open(images, model.Network.SampleShape, device, job);
            using var batchLabels = labels?.expand(set.Count);
            bool lead = job.Rank == 0;
            string outDir = Common.OutDir(parse.GetValue(Common.Out), "restoration", create: lead);
            if (lead) Console.WriteLine($"{set.Description}, rounds {string.Join(",", levels)} ({Rounds.Nfe(levels)} NFE){(job.Size > 1 ? $" over {job.Size} ranks" : "")}");
            RestorationReport.Write(model, set.Images!, qs, levels, parse.GetValue(Common.Seed), batchLabels, outDir, new SyncProgress<RestorationReport.Row>(r =>
                Console.WriteLine($"JPEG Q={r.JpegQuality}: PSNR {r.PsnrBefore:F2} dB → {r.PsnrAfter:F2} dB (gain {r.Gain:+0.00;-0.00} ± {r.GainStandardError:F2} dB, " +
                                  $"{r.ImprovedFraction:P0} of images improved); Gaussian-blur baseline {r.BlurPsnr:F2} dB (best σ = {r.BlurSigma} px)")), job);
            if (lead) Console.WriteLine($"→ {Path.GetFullPath(Path.Combine(outDir, "restoration.csv"))} (restoration-qQ.png: clean, JPEG, restored rows)");
            return 0;
        });
    }

    // restore --data --nfe: FID/KID over NFE, each method's levels chosen on the images after the measured ones.
    private static int NfeSweep(ParseResult parse, Model.BcmModel model, Device device, int[] qualities, string nfeText, EvaluationSetOptions images)
    {
        if (World.LaunchedSize > 1) throw new BadInputException("restore --nfe runs as one process");
        EvaluationSet.RequireUnconditional(model.Network.NumClasses, "restore --nfe");
        if (images.ChooseCount < 2) throw new BadInputException("--choose-count must be ≥ 2");
        var budgets = Common.Integers(nfeText, "--nfe", 1, 200);
        using var set = EvaluationSet.Open(images, model.Network.SampleShape, device);
        string outDir = Common.OutDir(parse.GetValue(Common.Out), "restoration");
        Console.WriteLine($"{set.Data.Name}: measured on images {set.First}..{set.First + set.Count - 1}, levels chosen on {set.First + set.Count}..{set.First + set.Count + images.ChooseCount - 1}");
        RestorationSweep.Write(model, set.Classifier!, set.ChooseImages!, set.Images!, qualities, budgets, parse.GetValue(Common.Seed), outDir,
            new SyncProgress<RestorationSweep.Row>(r => Console.WriteLine(
                $"Q={r.JpegQuality,-3} {r.Method,-10} NFE {r.Nfe,3}  FID {r.Fid,8:F2}  KID×1000 {1000 * r.Kid,7:F2}  PSNR {r.Psnr,6:F2} dB  ({r.Choice})")));
        Console.WriteLine($"→ {Path.GetFullPath(Path.Combine(outDir, "restoration-nfe.md"))}");
        return 0;
    }

    public static Command Edit() => RoundsCommand("edit", "Painted or sketched image (the model's size and channels)",
        "Stroke-guided editing: invert a painted image to a middle noise level and regenerate it, so the strokes become a " +
        $"plausible image (default level {string.Join(",", GuidedEdit.DefaultLevels)}; higher follows the data more, the painting less).",
        GuidedEdit.DefaultLevels, (m, x, l, s, y) => GuidedEdit.Run(m, x, l, s, y), "edited.png", "edit");

    // Both commands run rounds of up/down jumps on one image; --clean reports PSNR before and after.
    private static Command RoundsCommand(string name, string imageHelp, string description, double[] defaults,
        Func<Model.BcmModel, Tensor, IReadOnlyList<double>?, long, Tensor?, Tensor> run, string fileName, string defaultOut,
        Option[]? extraOptions = null, Func<ParseResult, Argument<string?>, int?>? alternative = null)
    {
        // With an alternative mode (restore --data) the image becomes optional.
        var image = new Argument<string?>("image") { Description = imageHelp, Arity = alternative is null ? ArgumentArity.ExactlyOne : ArgumentArity.ZeroOrOne };
        var clean = new Option<string?>("--clean") { Description = "A reference image, to report PSNR before and after" };
        var cmd = new Command(name, description)
        {
            image, clean, LevelsOption, Label, Common.Checkpoint, Common.Weights, Common.Preset, Common.Out, Common.Seed, Common.Device, Common.Threads, Common.Engine,
        };
        foreach (var option in extraOptions ?? []) cmd.Options.Add(option);
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            if (alternative?.Invoke(parse, image) is int code) return code;
            var (model, channels, size, device, labels) = Load(parse);
            string path = parse.GetValue(image) ?? throw new BadInputException($"give the image to {name} (or --data to measure on a data set)");
            var x = ImageIO.ReadBatch([path], channels, size).to(device);
            var levels = Levels(parse, defaults);
            var result = run(model, x, levels, parse.GetValue(Common.Seed), labels);
            string written = EditOutputs.Single(Common.OutDir(parse.GetValue(Common.Out), defaultOut), fileName, result);
            string report = $"{levels.Length} round(s) ({Rounds.Nfe(levels)} NFE) → {Path.GetFullPath(written)}";
            if (parse.GetValue(clean) is string cleanPath)
            {
                using var c = ImageIO.ReadBatch([cleanPath], channels, size).to(device);
                double before = RoundTrip.Metrics(c, x).Psnr[0], after = RoundTrip.Metrics(c, result).Psnr[0];
                report += $"; PSNR against the clean image {before:F2} dB before, {after:F2} dB after";
            }
            Console.WriteLine(report);
            return 0;
        }));
        return cmd;
    }

    // The --rounds levels, or the command's defaults.
    private static double[] Levels(ParseResult parse, double[] defaults) => parse.GetValue(LevelsOption) is string r ? Rounds.Parse(r) : defaults;

    private static (Model.BcmModel Model, int Channels, int Size, Device Device, Tensor? Labels) Load(ParseResult parse)
    {
        var loaded = Common.LoadImageModel(parse);
        var device = Common.ParseDevice(parse.GetValue(Common.Device)!);
        var shape = loaded.Model.Network.SampleShape;
        var labels = Common.SingleLabel(parse, Label, loaded.Model.Network.NumClasses, device);
        return (loaded.Model, (int)shape[0], (int)shape[^1], device, labels);
    }
}
