using System.CommandLine;
using Bcm.Distributed;
using Bcm.Editing;
using Bcm.Evaluation;
using Bcm.Imaging;
using Bcm.Metrics;
using Bcm.Reports;
using static TorchSharp.torch;

namespace Bcm.Cli;

/// <summary><c>bcm restore</c>: blind restoration of one image, or its measurement on a data set (PSNR, or FID/KID over NFE).</summary>
internal static class RestoreCommand
{
    public static Command Create()
    {
        var data = Common.DataToMeasure("Measure on a data set instead of one image");
        var count = Common.Count("Images to measure with --data", 200);
        var offset = Common.Offset();
        var qualities = new Option<string>("--jpeg-quality", "-q") { Description = "JPEG qualities to measure with --data, comma-separated (default 10,15,20)", DefaultValueFactory = _ => "10,15,20" };
        var nfes = new Option<string?>("--nfe") { Description = "With --data: measure by FID/KID over these NFE budgets instead (e.g. 2,4,6,8,12), against the JPEG input, a blur and consistency-model-style rounds; each method's levels are chosen on the --choose-count images after the measured ones" };
        var restorer = new Option<string?>("--restorer") { Description = "With --nfe: also measure a task-specific restorer (a bcm train --objective palette run) at each budget, its ODE solver chosen on the same images as the others' levels" };
        var chooseCount = new Option<int>("--choose-count") { Description = "With --nfe: images (after the measured ones) on which each method's levels are chosen", DefaultValueFactory = _ => 200 };
        return RoundsCommand.Create("restore", "Degraded image (the model's size and channels); omit it with --data",
            "Blind restoration: zigzag rounds on the degraded image, without knowing the degradation " +
            $"(default levels {string.Join(",", Restoration.DefaultLevels)}: {Rounds.Nfe(Restoration.DefaultLevels)} NFE). With --data, a measurement " +
            "instead: JPEG-compress N images of a data set at each quality, restore them and report PSNR before and after.",
            Restoration.DefaultLevels, (m, x, l, s, y) => Restoration.Run(m, x, l, s, y), "restored.png", "restoration", [data, count, offset, qualities, nfes, chooseCount, restorer, Common.Classifier], (parse, image) =>
        {
            if (parse.GetValue(data) is null)
                return World.LaunchedSize > 1 ? throw new BadInputException("under mpirun, bcm restore measures a data set (--data); restore one image as one process") : null;
            if (parse.GetValue(image) is not null) throw new BadInputException("give an image or --data, not both");
            var (model, _, _, device, labels) = RoundsCommand.Load(parse);
            var images = new EvaluationSetOptions { Data = parse.GetValue(data)!, Count = parse.GetValue(count), Offset = parse.GetValue(offset), ClassifierNeed = ClassifierNeed.None };
            images.Validate();
            var qs = Common.Integers(parse.GetValue(qualities)!, "--jpeg-quality", 1, 100);
            if (parse.GetValue(restorer) is not null && parse.GetValue(nfes) is null) throw new BadInputException("--restorer is measured over NFE: give --nfe too");
            if (parse.GetValue(nfes) is string sweep)
                return NfeSweep(parse, model, parse.GetValue(restorer), device, qs, sweep, images with { ChooseCount = parse.GetValue(chooseCount), Classifier = parse.GetValue(Common.Classifier), ClassifierNeed = ClassifierNeed.Required });
            var levels = RoundsCommand.Levels(parse, Restoration.DefaultLevels);
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
    private static int NfeSweep(ParseResult parse, Model.BcmModel model, string? restorerRun, Device device, int[] qualities, string nfeText, EvaluationSetOptions images)
    {
        if (World.LaunchedSize > 1) throw new BadInputException("restore --nfe runs as one process");
        EvaluationSet.RequireUnconditional(model.Network.NumClasses, "restore --nfe");
        if (images.ChooseCount < 2) throw new BadInputException("--choose-count must be ≥ 2");
        var budgets = Common.Integers(nfeText, "--nfe", 1, 200);
        var restorer = restorerRun is null ? null : Common.LoadModel(restorerRun, null, parse.GetValue(Common.Device)!).Model;
        if (restorer is not null && restorer.Network.Config.ConditionChannelCount != model.Network.SampleShape[0])
            throw new BadInputException($"--restorer {restorerRun}: not a JPEG restorer of this model's images (train one with: bcm train --objective palette)");
        using var set = EvaluationSet.Open(images, model.Network.SampleShape, device);
        string outDir = Common.OutDir(parse.GetValue(Common.Out), "restoration");
        Console.WriteLine($"{set.Data.Name}: measured on images {set.First}..{set.First + set.Count - 1}, levels chosen on {set.First + set.Count}..{set.First + set.Count + images.ChooseCount - 1}");
        RestorationSweep.Write(model, set.Classifier!, set.ChooseImages!, set.Images!, qualities, budgets, parse.GetValue(Common.Seed), outDir,
            new SyncProgress<RestorationSweep.Row>(r => Console.WriteLine(
                $"Q={r.JpegQuality,-3} {r.Method,-10} NFE {r.Nfe,3}  FID {r.Fid,8:F2}  KID×1000 {1000 * r.Kid,7:F2}  PSNR {r.Psnr,6:F2} dB  ({r.Choice})")), restorer);
        Console.WriteLine($"→ {Path.GetFullPath(Path.Combine(outDir, "restoration-nfe.md"))}");
        return 0;
    }
}
