using System.CommandLine;
using Bcm.Editing;

namespace Bcm.Cli;

/// <summary><c>bcm degrade</c>: JPEG-compressed or block-averaged test inputs for restore and superres.</summary>
internal static class DegradeCommand
{
    public static Command Create()
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
}
