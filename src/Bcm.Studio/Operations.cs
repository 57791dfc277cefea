using Bcm.Data;
using Bcm.Editing;
using Bcm.Imaging;
using Bcm.Metrics;
using Bcm.Model;
using Bcm.Plans;
using static TorchSharp.torch;
using Bcm.Tensors;
using static Bcm.Tensors.ScalarMath;

namespace Bcm.Studio;

/// <summary>
/// What each panel of the page asks for, as a call of one library entry point on the studio's model: the same
/// functions, with the same arguments, as the CLI command of the same name, so a result equals the CLI's for the same
/// image, plan and seed. Images travel as PNG data URLs. Every method runs inside the evaluation queue.
/// </summary>
internal sealed class Operations
{
    private readonly StudioOptions options;
    private readonly Lazy<TestImages> testImages;

    public Operations(StudioOptions options)
    {
        this.options = options;
        var shape = options.Model.Config.SampleShape;
        if (shape.Length != 3)
            throw new ArgumentException($"{options.Model.Source} makes {shape[0]}-dimensional vectors; bcm studio works on image models");
        (Channels, Size, Classes) = ((int)shape[0], (int)shape[^1], Model.Network.NumClasses);
        testImages = new(() => TestImages.Load(options.Data ?? options.Model.Options?.Data, Channels, Size));
    }

    private BcmModel Model => options.Model.Model;

    public int Channels { get; }
    public int Size { get; }
    public int Classes { get; }

    /// <summary>The model, the plans and defaults the page offers, the test images and the caps.</summary>
    public object Info()
    {
        var test = testImages.Value;
        return new
        {
            source = options.Model.Source, step = options.Model.Step, channels = Channels, size = Size, classes = Classes,
            parameters = Model.Network.Module.parameters().Sum(p => p.numel()), device = Model.Device.ToString(),
            presets = PlanPresets.Named,
            defaults = new
            {
                sample = "onestep", invert = "invert1", regenerate = "onestep",
                inpaint = Levels(Inpainting.DefaultLevels), restore = Levels(Restoration.DefaultLevels), edit = Levels(GuidedEdit.DefaultLevels),
            },
            testImages = new { name = test.Set?.Name, count = test.Set?.Count ?? 0, heldOut = test.HeldOut, error = test.Error },
            caps = new { options.MaxSamples, options.MaxFrames, options.MaxNfe, options.MaxRequestBytes, options.MaxImagePixels },
        };
    }

    private static string Levels(IEnumerable<double> levels) => string.Join(",", levels.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>Test image <paramref name="index"/> of the data set, as a PNG at the model's size.</summary>
    public byte[] TestImage(int index)
    {
        var test = testImages.Value;
        var set = test.Set ?? throw new BadInputException($"no test images: {test.Error}");
        if (index < 0 || index >= set.Count) throw new BadInputException($"test image {index}: {set.Name} has images 0..{set.Count - 1}");
        using var x = set.Batch([index], Size);
        using var first = x[0];
        return ImageIO.EncodePng(first);
    }

    /// <summary>A plan's text checked as the CLI checks it: its canonical form and NFE.</summary>
    public object CheckPlan(PlanRequest r)
    {
        var plan = PlanPresets.Resolve(r.Plan ?? throw new BadInputException("plan: missing"));
        if (r.Direction == "generate") plan.CheckGenerates();
        else if (r.Direction == "invert" && !plan.IsInversion) throw new PlanException($"inversion plan '{plan}' does not go up in noise level (e.g. 0.07>80)");
        else if (r.Direction is not (null or "generate" or "invert")) throw new BadInputException($"direction '{r.Direction}': generate or invert");
        return new { plan = plan.ToString(), nfe = plan.Nfe, inversion = plan.IsInversion };
    }

    public StudioResult Sample(SampleRequest r, CancellationToken cancel)
    {
        var plan = PlanPresets.Resolve(r.Plan ?? "onestep");
        if (plan.IsInversion) throw new PlanException($"plan '{plan}' goes up in noise level: that is an inversion (use the Invert panel)");
        if (r.Count < 1 || r.Count > options.MaxSamples) throw new BadInputException($"count: 1..{options.MaxSamples} images");
        CheckNfe(plan.Nfe);
        using var made = PlanRunner.Generate(Model, plan, r.Count, r.Seed, label: r.Label, callback: (_, _) => cancel.ThrowIfCancellationRequested());
        return new StudioResult(plan.ToString(), plan.Nfe, new() { ["samples"] = Grid(made) }, Frames(made));
    }

    public StudioResult Invert(InvertRequest r, CancellationToken cancel)
    {
        var invert = PlanPresets.Resolve(r.Plan ?? "invert1");
        var generate = PlanPresets.Resolve(r.Regenerate ?? "onestep");
        Plan.CheckRoundTrip(invert, generate);
        CheckNfe(invert.Nfe + generate.Nfe);
        using var scope = NewDisposeScope();
        var x = Image(r.Image, "image");
        var labels = Label(r.Label);
        cancel.ThrowIfCancellationRequested();
        using var result = RoundTrip.Run(Model, x, invert, generate, r.Seed, labels);
        // The latent is shown as z = x_T / T, about standard normal: what the one-step generator starts from.
        var latent = result.Latents.Over(invert.End).Clamped(-1, 1);
        return new StudioResult($"{invert} ; {generate}", invert.Nfe + generate.Nfe,
            new() { ["input"] = Png(x[0]), ["latent"] = Png(latent[0]), ["reconstruction"] = Png(result.Reconstructions[0]) },
            Metrics: new() { ["mse"] = result.Mse[0], ["psnr"] = result.Psnr[0] });
    }

    public StudioResult Interpolate(InterpolateRequest r, CancellationToken cancel)
    {
        var invert = PlanPresets.Resolve(r.Plan ?? "invert1");
        var generate = PlanPresets.Resolve(r.Regenerate ?? "onestep");
        if (r.Count < 2 || r.Count > options.MaxFrames) throw new BadInputException($"count: 2..{options.MaxFrames} images along the path");
        Plan.CheckRoundTrip(invert, generate);
        CheckNfe(2 * invert.Nfe + r.Count * generate.Nfe);
        using var scope = NewDisposeScope();
        var a = Image(r.A, "a");
        var b = Image(r.B, "b");
        var labels = Label(r.Label);
        cancel.ThrowIfCancellationRequested();
        var (_, _, path) = Interpolation.BetweenImages(Model, a, b, r.Count, invert, generate, r.Seed, !r.Lerp, labels, !r.IndependentNoise);
        var strip = cat([a.cpu(), path.cpu(), b.cpu()], 0);
        return new StudioResult($"{invert} ; {generate} ({(r.Lerp ? "lerp" : "slerp")})", 2 * invert.Nfe + r.Count * generate.Nfe,
            new() { ["strip"] = Grid(strip, r.Count + 2) }, Frames(path));
    }

    public StudioResult Inpaint(InpaintRequest r, CancellationToken cancel)
    {
        var levels = RoundLevels(r.Levels, Inpainting.DefaultLevels);
        using var scope = NewDisposeScope();
        var x = Image(r.Image, "image");
        var known = Decode(r.Mask, "mask", 1, resize: false).Above(0); // white (≥ 128) = known, as bcm inpaint --mask reads it
        if (known.all().item<bool>()) throw new BadInputException("mask: no pixel to fill (paint the region to fill: black in the mask)");
        var labels = Label(r.Label);
        var rounds = new List<Tensor>(); // copies of each round's image, owned here (the library's scope frees its own)
        try
        {
            var result = Inpainting.Run(Model, x, known, levels, r.Seed, labels, (_, current) =>
            {
                rounds.Add(current.cpu().clone().DetachFromDisposeScope());
                cancel.ThrowIfCancellationRequested();
            });
            var masked = where(known.expand_as(x), x, FullLike(x, -1));
            return new StudioResult(RoundsText(levels), Rounds.Nfe(levels),
                new() { ["input"] = Png(x[0]), ["masked"] = Png(masked[0]), ["result"] = Png(result[0]), ["rounds"] = Grid(cat([x.cpu(), masked.cpu(), .. rounds], 0), rounds.Count + 2) },
                Frames(cat(rounds, 0)));
        }
        finally
        {
            foreach (var round in rounds) round.Dispose();
        }
    }

    public StudioResult Restore(RestoreRequest r, CancellationToken cancel)
    {
        var levels = RoundLevels(r.Levels, Restoration.DefaultLevels);
        if (r.Quality is int q && q is < 1 or > 100) throw new BadInputException("quality: JPEG quality 1..100 (or null when the image is already degraded)");
        using var scope = NewDisposeScope();
        var x = Image(r.Image, "image");
        var degraded = r.Quality is int quality ? ImageIO.JpegDegrade(x, quality) : x;
        var labels = Label(r.Label);
        var restored = Restoration.Run(Model, degraded, levels, r.Seed, labels, (_, _) => cancel.ThrowIfCancellationRequested());
        var images = new Dictionary<string, string> { ["input"] = Png(x[0]), ["degraded"] = Png(degraded[0]), ["restored"] = Png(restored[0]) };
        Dictionary<string, double>? metrics = null;
        if (r.Quality is not null)
            metrics = new() { ["psnrDegraded"] = RoundTrip.Metrics(x, degraded).Psnr[0], ["psnrRestored"] = RoundTrip.Metrics(x, restored).Psnr[0] };
        return new StudioResult(RoundsText(levels), Rounds.Nfe(levels), images, Metrics: metrics);
    }

    public StudioResult Edit(EditRequest r, CancellationToken cancel)
    {
        var levels = RoundLevels(r.Levels, GuidedEdit.DefaultLevels);
        using var scope = NewDisposeScope();
        var x = Image(r.Image, "image");
        var labels = Label(r.Label);
        var edited = GuidedEdit.Run(Model, x, levels, r.Seed, labels, (_, _) => cancel.ThrowIfCancellationRequested());
        return new StudioResult(RoundsText(levels), Rounds.Nfe(levels), new() { ["input"] = Png(x[0]), ["result"] = Png(edited[0]) });
    }

    private double[] RoundLevels(string? text, double[] defaults)
    {
        var levels = string.IsNullOrWhiteSpace(text) ? defaults : Rounds.Parse(text);
        CheckNfe(Rounds.Nfe(levels));
        return levels;
    }

    private static string RoundsText(IEnumerable<double> levels) => "rounds " + Levels(levels);

    private void CheckNfe(int nfe)
    {
        if (nfe > options.MaxNfe) throw new BadInputException($"this request costs {nfe} network evaluations; the studio allows at most {options.MaxNfe}");
    }

    // An uploaded image as [1, C, S, S] in [−1, 1] on the model's device: resized to the model's size when it is not.
    private Tensor Image(string? dataUrl, string field) => Decode(dataUrl, field, Channels, resize: true);

    private Tensor Decode(string? dataUrl, string field, int channels, bool resize)
    {
        var bytes = DataUrl.Decode(dataUrl, field);
        var pixels = ImageIO.DecodePixels(bytes, field, channels, Size, resize, options.MaxImagePixels);
        return ImageIO.ToTensor(pixels, [1, channels, Size, Size]).to(Model.Device);
    }

    private Tensor? Label(int? label)
    {
        if (Classes == 0)
            return label is null ? null : throw new BadInputException("class given, but the model is unconditional");
        int c = label ?? throw new BadInputException("the model is class-conditional: give a class");
        if (c < 0 || c >= Classes) throw new BadInputException($"class must be in 0..{Classes - 1}");
        return tensor(new long[] { c }, device: Model.Device);
    }

    private static string Png(Tensor image) => DataUrl.Png(ImageIO.EncodePng(image));

    private static string Grid(Tensor images, int columns = 0) => DataUrl.Png(ImageIO.EncodeGrid(images, columns));

    private static List<string> Frames(Tensor images) => Enumerable.Range(0, (int)images.shape[0]).Select(i =>
    {
        using var one = images[i];
        return Png(one);
    }).ToList();

    // The data set's test images: its test split, or (for sources without one) its own images, flagged as not held out.
    private sealed record TestImages(ImageDataset? Set, bool HeldOut, string? Error)
    {
        public static TestImages Load(string? spec, int channels, int size)
        {
            if (string.IsNullOrWhiteSpace(spec)) return new(null, false, "no data set given (start the studio with --data SPEC)");
            try
            {
                if (DataSources.LoadTest(spec, channels, size) is { } test) return new(test, true, null);
                var set = DataSources.Load(spec, channels, size);
                set.CheckShape([channels, size, size]);
                return new(set, false, null);
            }
            catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or UnauthorizedAccessException)
            {
                return new(null, false, $"{spec}: {e.Message}");
            }
        }
    }
}
