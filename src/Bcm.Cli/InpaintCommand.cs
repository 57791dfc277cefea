using System.CommandLine;
using Bcm.Distributed;
using Bcm.Editing;
using Bcm.Evaluation;
using Bcm.Imaging;
using Bcm.Metrics;
using Bcm.Reports;
using static TorchSharp.torch;

namespace Bcm.Cli;

/// <summary><c>bcm inpaint</c>: fill the unknown pixels of an image, or measure inpainting on a data set.</summary>
internal static class InpaintCommand
{
    public static Command Create()
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
            image, mask, box, data, count, offset, Common.Classifier, RoundsCommand.LevelsOption, RoundsCommand.Label, Common.Checkpoint, Common.Weights, Common.Preset, Common.Out, Common.Seed,
            Common.Device, Common.Threads, Common.Engine,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            string? spec = parse.GetValue(data);
            if (spec is not null && parse.GetValue(image) is not null) throw new BadInputException("give an image or --data, not both");
            if (spec is null && parse.GetValue(image) is null) throw new BadInputException("give the image to inpaint (or --data to measure on a data set)");
            if (parse.GetValue(mask) is not null && parse.GetValue(box) is not null) throw new BadInputException("give --mask or --box, not both");
            var (model, channels, size, device, labels) = RoundsCommand.Load(parse);
            if (spec is null && parse.GetValue(mask) is null && parse.GetValue(box) is null) throw new BadInputException("give the region to fill: --mask MASK.png or --box x,y,w,h");
            var known = Inpainting.KnownPixels(parse.GetValue(mask), parse.GetValue(box), size).to(device);
            var levels = RoundsCommand.Levels(parse, Inpainting.DefaultLevels);
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
}
