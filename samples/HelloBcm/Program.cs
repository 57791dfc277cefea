using Bcm.Imaging;
using Bcm.Metrics;
using Bcm.Plans;
using Bcm.Training;

// Usage: HelloBcm CHECKPOINT [OUT_DIR] — a run folder, a bcm checkpoint, or an official state_dict.
string checkpoint = args.Length > 0 ? args[0] : "runs/digits", outDir = args.Length > 1 ? args[1] : ".";
using var loaded = ModelLoader.Load(checkpoint);
var model = loaded.Model;
using var samples = model.Sample(16, "onestep", seed: 0);        // one network evaluation per image
ImageIO.SaveGrid(samples, Path.Combine(outDir, "samples.png"));
using var latents = model.Invert(samples, "invert1");             // back to noise at σ = 80, one evaluation
using var again = model.Regenerate(latents, "onestep");           // and down again
ImageIO.SaveGrid(again, Path.Combine(outDir, "roundtrip.png"));
double mse = ImageQuality.Mse(samples, again).Average();       // per image, pixels on [0, 1], as bcm reports it
Console.WriteLine($"16 samples and their round trip → {Path.GetFullPath(outDir)}; round-trip MSE {mse:F4} (pixels on [0, 1])");
