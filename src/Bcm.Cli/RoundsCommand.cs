using System.CommandLine;
using Bcm.Distributed;
using Bcm.Editing;
using Bcm.Evaluation;
using Bcm.Imaging;
using Bcm.Metrics;
using Bcm.Reports;
using static TorchSharp.torch;

namespace Bcm.Cli;

/// <summary>
/// The commands that run rounds of up/down jumps on one image (<c>bcm edit</c>, and <c>bcm restore</c> on one image), and
/// what the editing commands share: the rounds' levels, the class label, the image model.
/// </summary>
internal static class RoundsCommand
{
    public static readonly Option<string?> LevelsOption = new("--levels") { Description = "Noise levels t_r of the rounds, comma-separated and decreasing (each round: +0.07 noise, jump to t_r, jump to ε; 2 NFE)" };
    public static readonly Option<string?> Label = new("--class") { Description = "Class for a conditional model: its name (a labelled folder's class) or its index" };

    public static Command Edit() => Create("edit", "Painted or sketched image (the model's size and channels)",
        "Stroke-guided editing: invert a painted image to a middle noise level and regenerate it, so the strokes become a " +
        $"plausible image (default level {string.Join(",", GuidedEdit.DefaultLevels)}; higher follows the data more, the painting less).",
        GuidedEdit.DefaultLevels, (m, x, l, s, y) => GuidedEdit.Run(m, x, l, s, y), "edited.png", "edit");

    // Both commands run rounds of up/down jumps on one image; --clean reports PSNR before and after.
    public static Command Create(string name, string imageHelp, string description, double[] defaults,
        Func<Model.BcmModel, Tensor, IReadOnlyList<double>?, long, Tensor?, Tensor> run, string fileName, string defaultOut,
        Option[]? extraOptions = null, Func<ParseResult, Argument<string?>, int?>? alternative = null)
    {
        // With an alternative mode (restore --data) the image becomes optional.
        var image = new Argument<string?>("image") { Description = imageHelp, Arity = alternative is null ? ArgumentArity.ExactlyOne : ArgumentArity.ZeroOrOne };
        var clean = new Option<string?>("--clean") { Description = "A reference image, to report PSNR before and after (also written to psnr.csv)" };
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
                EditOutputs.Psnr(Path.GetDirectoryName(written)!, [("input", before), (Path.GetFileNameWithoutExtension(fileName), after)]);
                report += $"; PSNR against the clean image {before:F2} dB before, {after:F2} dB after (psnr.csv)";
            }
            Console.WriteLine(report);
            return 0;
        }));
        return cmd;
    }

    // The --rounds levels, or the command's defaults.
    public static double[] Levels(ParseResult parse, double[] defaults) => parse.GetValue(LevelsOption) is string r ? Rounds.Parse(r) : defaults;

    public static (Model.BcmModel Model, int Channels, int Size, Device Device, Tensor? Labels) Load(ParseResult parse)
    {
        var loaded = Common.LoadImageModel(parse);
        var device = Common.ParseDevice(parse.GetValue(Common.Device)!);
        var shape = loaded.Model.Network.SampleShape;
        var labels = Common.SingleLabel(parse, Label, loaded, device);
        return (loaded.Model, (int)shape[0], (int)shape[^1], device, labels);
    }
}
