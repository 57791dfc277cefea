using System.Diagnostics;
using Bcm.Inference;

// Usage: HelloInference EXPORT_FOLDER [OUT_FOLDER]: one-step samples, their inversion and regeneration, from an ONNX
// export (bcm export CHECKPOINT --format onnx -o EXPORT_FOLDER/model.onnx).
if (args.Length < 1)
{
    Console.Error.WriteLine("usage: HelloInference EXPORT_FOLDER [OUT_FOLDER]");
    return 2;
}
string outDir = args.Length > 1 ? args[1] : ".";
try
{
    using var model = InferenceModel.Open(args[0]);                       // model.onnx + config.json
    var clock = Stopwatch.StartNew();
    var samples = await model.SampleAsync(new SampleOptions(Count: 16, Plan: "onestep", Seed: 0));
    Console.WriteLine($"16 samples of [{string.Join(", ", model.Config.SampleShape)}] in one network evaluation each: {clock.Elapsed.TotalMilliseconds:F0} ms");
    Npy.Write(samples, Path.Combine(outDir, "samples.npy"));                // the values, for NumPy or a comparison
    if (model.Config.IsImage) Png.WriteGrid(samples, Path.Combine(outDir, "samples.png"));
    if (model.Config.Inverts)
    {
        var latents = await model.InvertAsync(samples, new InvertOptions("invert1"));   // to noise at σ = 80 in one evaluation
        var again = await model.RegenerateAsync(latents, new RegenerateOptions("onestep")); // and down again
        double mse = 0;
        for (int i = 0; i < samples.Values.Length; i++)
        {
            double d = (samples.Values[i] - again.Values[i]) / 2.0; // pixels on [0, 1]
            mse += d * d;
        }
        Console.WriteLine($"round-trip MSE {mse / samples.Values.Length:F4} (pixels on [0, 1])");
        if (model.Config.IsImage) Png.WriteGrid(SampleBatch.Concat([samples, again]), Path.Combine(outDir, "roundtrip.png"), columns: 16);
    }
    return 0;
}
catch (InferenceException e)
{
    Console.Error.WriteLine($"HelloInference: {e.Message}");
    return 2;
}
