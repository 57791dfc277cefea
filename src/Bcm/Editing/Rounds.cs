using Bcm.Model;
using Bcm.Plans;
using static TorchSharp.torch;

namespace Bcm.Editing;

/// <summary>
/// Rounds of "add small noise, jump up to t_r, jump back down to ε" with decreasing t_r, optionally pasting known
/// pixels back after each round: the common core of BCM inpainting and blind restoration (method §6). Each round is
/// the plan <c>s>t_r>ε</c> run on the current image (s = 0.07 by default: the network is poorly trained at t ≈ ε).
/// </summary>
public static class Rounds
{
    /// <summary>The plan of one round.</summary>
    public static Plan Round(double up, double start = 0.07, double end = Schedules.Sigmas.Min) =>
        new(start, [new Jump(start, up), new Jump(up, end)]);

    /// <summary>
    /// Runs the rounds on <paramref name="x"/>; where <paramref name="known"/> is true the pixels of <paramref name="reference"/>
    /// are pasted back after every round and in the result, so known pixels come out bit-identical.
    /// </summary>
    public static Tensor Run(BcmModel model, Tensor x, IReadOnlyList<double> levels, long seed, Tensor? known = null, Tensor? reference = null,
        Tensor? labels = null, Action<int, Tensor>? afterRound = null)
    {
        if (known is not null && reference is null) throw new ArgumentException("a mask needs the reference image");
        return Run(model, x, levels, seed, known is null ? null : current => where(known, reference!, current), labels, afterRound);
    }

    /// <summary>
    /// Runs the rounds with a projection applied to the start and after every round: the constraint that the known
    /// part of the image is kept (pasting known pixels for inpainting, replacing the low frequencies for super-resolution,
    /// the consistency models' "iterative replacement").
    /// </summary>
    public static Tensor Run(BcmModel model, Tensor x, IReadOnlyList<double> levels, long seed, Func<Tensor, Tensor>? project,
        Tensor? labels = null, Action<int, Tensor>? afterRound = null) =>
        Run(model, x, levels, seed, project, level => Checked(Round(level)), labels, afterRound);

    // The loop of every kind of round: per level the round's (validated) plan, from per-sample seeds offset by the round
    // index (fresh noise each round), then the projection.
    private static Tensor Run(BcmModel model, Tensor x, IReadOnlyList<double> levels, long seed, Func<Tensor, Tensor>? project,
        Func<double, Plan> round, Tensor? labels = null, Action<int, Tensor>? afterRound = null)
    {
        if (levels.Count == 0) throw new ArgumentException("give at least one round");
        using var scope = NewDisposeScope();
        var seeds = PlanRunner.SeedRange(seed, (int)x.shape[0]);
        var current = project is null ? x.clone() : project(x);
        for (int r = 0; r < levels.Count; r++)
        {
            var next = PlanRunner.Run(model, current, round(levels[r]), seeds.Select(s => s + 1_000_003L * (r + 1)).ToArray(), labels);
            current = project is null ? next : project(next);
            afterRound?.Invoke(r, current);
        }
        return current.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Consistency-model-style rounds on images at ε (the multistep/"iterative replacement" of Song et al., 2023): per
    /// level t_r, fresh noise that takes the image to t_r (sqrt(t_r² − ε²)·z) and one jump back to ε — 1 NFE a round, no
    /// inversion. With <paramref name="project"/>, the constraint is applied to the start and after every round.
    /// </summary>
    public static Tensor ConsistencyRounds(BcmModel model, Tensor x, IReadOnlyList<double> levels, long seed, Func<Tensor, Tensor>? project = null)
    {
        if (project is not null)
            return Run(model, x, levels, seed, project, level => Checked(ConsistencyRound(model, level), model.SigmaMin, model.SigmaMax).FromGiven());
        if (levels.Count == 0) throw new ArgumentException("give at least one round");
        // Without a projection the rounds are one plan: each sample draws the noise of every round from its own seed.
        var plan = new Plan(model.SigmaMin, levels.SelectMany(l => ConsistencyRound(model, l).Steps).ToList());
        plan.Validate(model.SigmaMin, model.SigmaMax);
        return PlanRunner.Run(model, x, plan.FromGiven(), PlanRunner.SeedRange(seed, (int)x.shape[0]));
    }

    private static Plan Checked(Plan plan, double sigmaMin = Schedules.Sigmas.Min, double sigmaMax = Schedules.Sigmas.Max)
    {
        plan.Validate(sigmaMin, sigmaMax);
        return plan;
    }

    // One consistency-model round: noise that takes an image at ε to t_r, one jump back to ε.
    private static Plan ConsistencyRound(BcmModel model, double level) =>
        new(model.SigmaMin, [new Noise(level, ReachSigma: true), new Jump(level, model.SigmaMin)]);

    /// <summary>Network evaluations of a list of rounds (two per round).</summary>
    public static int Nfe(IReadOnlyList<double> levels) => 2 * levels.Count;

    /// <summary>Parses "80,40,20" into levels, each in (0.07, T].</summary>
    public static double[] Parse(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new PlanException("give at least one round level, e.g. 20,10,5");
        var levels = parts.Select((p, i) =>
        {
            if (!double.TryParse(p, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v) || !(v > 0.07) || v > Schedules.Sigmas.Max)
                throw new PlanException($"round {i + 1} '{p}': a level must be a number in (0.07, 80]");
            return v;
        }).ToArray();
        for (int i = 1; i < levels.Length; i++)
            if (levels[i] > levels[i - 1])
                throw new PlanException($"round {i + 1} ({parts[i]}) is above round {i} ({parts[i - 1]}): rounds go from coarse to fine, so levels must not increase (e.g. 20,10,5)");
        return levels;
    }
}
