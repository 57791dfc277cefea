using Bcm.Model;
using static TorchSharp.torch;

namespace Bcm.Plans;

/// <summary>
/// The common case in one call: generate images from noise, or invert images to noise, with a plan given by name or
/// text (see <see cref="PlanPresets"/>). Results are on the CPU, in the model's data range ([-1, 1] for images), and
/// the same for a seed whatever the batch size.
/// </summary>
public static class Sampling
{
    /// <summary>Generates <paramref name="count"/> samples; sample i has seed <paramref name="seed"/> + i.</summary>
    /// <param name="model">The model (e.g. <c>ModelLoader.Load(path).Model</c>).</param>
    /// <param name="count">How many samples.</param>
    /// <param name="plan">A plan name (<c>onestep</c>, <c>ancestral2</c>, <c>zigzag3</c>, …) or text such as <c>80&gt;0.8&gt;0.002</c>.</param>
    /// <param name="seed">The seed of the first sample.</param>
    /// <param name="label">For a class-conditional model: one class for every sample (default: sample i gets class i mod classes).</param>
    /// <returns>A tensor [count, …sample shape] the caller disposes.</returns>
    /// <exception cref="PlanException">The plan is malformed or does not end at the lowest noise level.</exception>
    public static Tensor Sample(this BcmModel model, int count, string plan = "onestep", long seed = 0, int? label = null)
    {
        var resolved = PlanPresets.Resolve(plan);
        resolved.CheckGenerates();
        return PlanRunner.Generate(model, resolved, count, seed, label: label);
    }

    /// <summary>Inverts <paramref name="images"/> to latent noise (image i with seed <paramref name="seed"/> + i, for plans that add noise).</summary>
    /// <param name="model">The model.</param>
    /// <param name="images">A batch [n, …sample shape] in the data range, on the model's device.</param>
    /// <param name="plan">An inversion plan name (<c>invert1</c> = 0.07&gt;80, <c>invert2</c>) or text.</param>
    /// <param name="seed">The seed of the first image.</param>
    /// <param name="labels">Class labels [n] for a conditional model.</param>
    /// <returns>The latents at the plan's final noise level (80 for the presets); regenerate them with <see cref="Regenerate"/>.</returns>
    public static Tensor Invert(this BcmModel model, Tensor images, string plan = "invert1", long seed = 0, Tensor? labels = null)
    {
        var resolved = PlanPresets.Resolve(plan);
        if (!resolved.IsInversion) throw new PlanException($"'{plan}' is not an inversion plan: it must go up in noise level, such as 0.07>80");
        using var _ = no_grad();
        return PlanRunner.Run(model, images, resolved, PlanRunner.SeedRange(seed, (int)images.shape[0]), labels).cpu();
    }

    /// <summary>Maps latents (from <see cref="Invert"/>) back to images with a generation plan (default one step), starting exactly from them (no fresh noise).</summary>
    /// <param name="model">The model.</param>
    /// <param name="latents">Latents at the plan's start level.</param>
    /// <param name="plan">A generation plan name or text that starts where the inversion ended.</param>
    /// <param name="seed">The seed of the first latent (for plans that add noise on the way).</param>
    /// <param name="labels">Class labels for a conditional model.</param>
    public static Tensor Regenerate(this BcmModel model, Tensor latents, string plan = "onestep", long seed = 0, Tensor? labels = null)
    {
        var resolved = PlanPresets.Resolve(plan);
        resolved.CheckGenerates();
        using var _ = no_grad();
        return PlanRunner.Run(model, latents.to(model.Device), resolved.FromGiven(), PlanRunner.SeedRange(seed, (int)latents.shape[0]), labels).cpu();
    }
}
