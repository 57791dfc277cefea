using Bcm.Imaging;
using Bcm.Plans;
using Bcm.Training;

namespace Bcm.Reports;

/// <summary>The sample grids a training run writes to samples/ as it goes (hand <see cref="Save"/> to <see cref="Trainer.SamplesDue"/>).</summary>
public static class TrainingPreview
{
    /// <summary>
    /// 64 samples of the EMA model with seeds 0..63 (labels 0, 1, 2, … for a conditional model): one step for a BCM,
    /// Heun in 10 steps (19 NFE) for a denoiser; image models only.
    /// </summary>
    public static void Save(Trainer trainer)
    {
        // A restorer conditioned on a degraded image has nothing to generate from: bcm restore --restorer measures it.
        if (trainer.Options.Network.SampleShape.Length != 3 || trainer.Options.Network.ConditionChannelCount > 0) return;
        var (name, plan) = trainer.Objective.Kind != ModelKind.Denoiser ? ("onestep", PlanPresets.Resolve("onestep")) : ("heun19", PlanPresets.Ode(OdeMethod.Heun, 10));
        using var grid = PlanRunner.Generate(trainer.Ema, plan, 64, seed: 0);
        ImageIO.SaveGrid(grid, Path.Combine(trainer.RunDir, "samples", $"{name}-{trainer.Step:D8}.png"));
    }
}
