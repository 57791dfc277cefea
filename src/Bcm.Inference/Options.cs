namespace Bcm.Inference;

/// <summary>Where ONNX Runtime runs the network.</summary>
public enum ExecutionProvider
{
    /// <summary>ONNX Runtime's CPU provider (the <c>Microsoft.ML.OnnxRuntime</c> package, which this package references).</summary>
    Cpu,
    /// <summary>NVIDIA CUDA: reference <c>Microsoft.ML.OnnxRuntime.Gpu</c> (Linux and Windows) in your app instead of the CPU natives.</summary>
    Cuda,
    /// <summary>DirectML (Windows): reference <c>Microsoft.ML.OnnxRuntime.DirectML</c> in your app instead of the CPU natives.</summary>
    DirectML,
}

/// <summary>How an export is opened.</summary>
/// <param name="Provider">The execution provider (default the CPU).</param>
/// <param name="DeviceId">The GPU for CUDA or DirectML.</param>
/// <param name="Threads">Intra-op threads on the CPU (0: ONNX Runtime's default, one per core).</param>
public sealed record InferenceOptions(ExecutionProvider Provider = ExecutionProvider.Cpu, int DeviceId = 0, int Threads = 0)
{
    internal void Validate()
    {
        if (!Enum.IsDefined(Provider)) throw new InferenceException($"execution provider {(int)Provider} is not one of {string.Join(", ", Enum.GetNames<ExecutionProvider>())}");
        if (DeviceId is < 0 or > 255) throw new InferenceException($"the device id must be in 0..255, got {DeviceId}");
        if (Threads is < 0 or > 1024) throw new InferenceException($"threads must be in 0..1024 (0: one per core), got {Threads}");
    }
}

/// <summary>What to generate.</summary>
/// <param name="Count">How many samples (1..100,000).</param>
/// <param name="Plan">A plan name (<c>onestep</c>, <c>ancestral2</c>, <c>zigzag3</c>, <c>mixed4</c>, …), a family (<c>ancestral:K</c>, <c>heun:K</c>, …) or text such as <c>80&gt;2.4&gt;0.002</c>: the library's plans.</param>
/// <param name="Seed">Sample i has seed Seed + i: the same image as <c>bcm sample --seed Seed</c> gives sample i.</param>
/// <param name="Label">For a class-conditional model, one class for every sample (default: sample i gets class i mod classes).</param>
/// <param name="BatchSize">Samples per network evaluation (1..4,096); the result does not depend on it.</param>
public sealed record SampleOptions(int Count = 16, string Plan = "onestep", long Seed = 0, int? Label = null, int BatchSize = 64);

/// <summary>How to invert images to latents.</summary>
/// <param name="Plan">An inversion plan (<c>invert1</c> = 0.07&gt;80, <c>invert2</c>, or <c>heun-invert:K</c> for an EDM export).</param>
/// <param name="Seed">Image i has seed Seed + i (for the plan's start noise).</param>
/// <param name="Labels">Class labels, one per image, for a class-conditional model.</param>
/// <param name="BatchSize">Images per network evaluation.</param>
public sealed record InvertOptions(string Plan = "invert1", long Seed = 0, IReadOnlyList<int>? Labels = null, int BatchSize = 64);

/// <summary>How to map latents back to samples (no fresh start noise: the latents are the start).</summary>
/// <param name="Plan">A generation plan that starts where the inversion ended (default one step from T).</param>
/// <param name="Seed">Latent i has seed Seed + i (for noise a plan adds on the way).</param>
/// <param name="Labels">Class labels, one per latent, for a class-conditional model.</param>
/// <param name="BatchSize">Latents per network evaluation.</param>
public sealed record RegenerateOptions(string Plan = "onestep", long Seed = 0, IReadOnlyList<int>? Labels = null, int BatchSize = 64);

/// <summary>An interpolation between two images: both inverted, their latents mixed, every mix regenerated.</summary>
/// <param name="Count">Images on the path, both ends included (2..256).</param>
/// <param name="InvertPlan">The inversion plan.</param>
/// <param name="GeneratePlan">The generation plan from the latents.</param>
/// <param name="Seed">The seed of both inversions and of every regeneration (so noise a plan adds is shared along the path).</param>
/// <param name="Slerp">Spherical interpolation of the latents (default), else linear.</param>
/// <param name="Label">The class of both images, for a class-conditional model.</param>
public sealed record InterpolateOptions(int Count = 8, string InvertPlan = "invert1", string GeneratePlan = "onestep", long Seed = 0, bool Slerp = true, int? Label = null);

/// <summary>Progress of a long call: network evaluations done of those the call will make.</summary>
/// <param name="Done">Evaluations (of one batch) done.</param>
/// <param name="Total">Evaluations the call makes.</param>
/// <param name="Stage">What is running (<c>sample</c>, <c>invert</c>, <c>regenerate</c>).</param>
public sealed record InferenceProgress(int Done, int Total, string Stage);
