using static TorchSharp.torch;
using Bcm.Tensors;
using static Bcm.Tensors.ScalarMath;

namespace Bcm.Metrics;

/// <summary>
/// A classifier seen only through its outputs: logits for a batch of images in [−1, 1]. <paramref name="query"/>
/// numbers the call (0, 1, …), so that a randomised defence can draw fresh noise for every query, as a deployed one would.
/// </summary>
public delegate Tensor BlackBox(Tensor images, int query);

/// <summary>The outcome of a black-box attack on a batch.</summary>
/// <param name="Adversarial">The attacked images, in [−1, 1], within the budget of the originals.</param>
/// <param name="Queries">Queries each image took (the attack stops for an image once it is misclassified).</param>
/// <param name="Fooled">Whether the attacker saw the image misclassified within its budget.</param>
/// <param name="Snapshots">
/// When asked for, the attacked images as they stood after each image's q-th query, for each budget q asked (an image
/// the attack had stopped on before q: as it was left), in [−1, 1]; the last budget's equal <see cref="Adversarial"/>
/// when it is the attack's query budget.
/// </param>
public sealed record AttackResult(Tensor Adversarial, int[] Queries, bool[] Fooled, Tensor[]? Snapshots = null) : IDisposable
{
    /// <summary>Frees the attacked images and the snapshots.</summary>
    public void Dispose()
    {
        Adversarial.Dispose();
        foreach (var t in Snapshots ?? []) t.Dispose();
    }
}

/// <summary>
/// Query-based black-box attacks, written from their papers, on images in [−1, 1]; budgets are given on the [0, 1]
/// scale, as the papers and the MNIST convention state them. Both are untargeted and batched: every image is attacked
/// at once, and an image stops being queried once it is misclassified.
/// </summary>
public static class Attacks
{
    /// <summary>
    /// Square Attack, L∞ (Andriushchenko et al., ECCV 2020, Algorithms 1 and 2): start from vertical stripes of ±ε, then
    /// repeatedly set a random square window to ±ε per channel, keeping the change when the margin loss
    /// f_y − max_{k≠y} f_k falls. The window covers a share p of the pixels, p starting at <paramref name="pInit"/>
    /// (the paper's 0.8 for MNIST) and halved at iterations 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000 of a
    /// 10,000-query run, rescaled to <paramref name="queries"/>.
    /// </summary>
    /// <param name="model">The attacked classifier (with its defence).</param>
    /// <param name="images">Clean images [B, C, H, W] in [−1, 1].</param>
    /// <param name="labels">True labels [B].</param>
    /// <param name="epsilon">L∞ budget on the [0, 1] scale (0.3 for MNIST).</param>
    /// <param name="queries">Query budget per image, the initial query included.</param>
    /// <param name="seed">Seed of the attack's own choices.</param>
    /// <param name="pInit">Initial share of pixels in the window.</param>
    /// <param name="snapshots">Query budgets at which to keep the attacked images (<see cref="AttackResult.Snapshots"/>); null: none.</param>
    public static AttackResult SquareLinf(BlackBox model, Tensor images, Tensor labels, double epsilon, int queries, long seed, double pInit = 0.8,
        IReadOnlyList<int>? snapshots = null)
    {
        Check(images, labels, epsilon, queries);
        var rng = new Random((int)(seed & 0x7FFFFFFF));
        using var scope = NewDisposeScope();
        var x = ToUnit(images);
        long b = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        var stripes = Signs(rng, [b, c, 1, w]).Times(epsilon);
        var adv = x.Plus(stripes).Clamped(0, 1);
        var used = new int[b];
        var margin = Margins(model, adv, labels, 0, used, Enumerable.Range(0, (int)b).ToArray());
        var snaps = new Snapshot(snapshots, adv);
        snaps.Take(adv, used, Enumerable.Range(0, (int)b));
        for (int q = 1; q < queries; q++)
        {
            var active = Enumerable.Range(0, (int)b).Where(i => margin[i] > 0).ToArray();
            if (active.Length == 0) break;
            double p = Share(pInit, q, queries);
            int side = (int)Math.Clamp(Math.Round(Math.Sqrt(p * h * w)), 1, Math.Min(h, w));
            var delta = (adv - x).cpu();
            foreach (int i in active)
            {
                int r0 = rng.Next((int)(h - side + 1)), c0 = rng.Next((int)(w - side + 1));
                for (int ch = 0; ch < c; ch++)
                    delta[i, ch, r0..(r0 + side), c0..(c0 + side)] = tensor(rng.Next(2) == 0 ? -epsilon : epsilon, delta.dtype);
            }
            var proposed = x.Plus(delta.to(x.device)).Clamped(0, 1);
            using var index = tensor(active.Select(i => (long)i).ToArray(), device: x.device);
            var trial = Margins(model, proposed.index_select(0, index), labels.index_select(0, index), q, used, active);
            for (int k = 0; k < active.Length; k++)
                if (trial[k] < margin[active[k]])
                {
                    margin[active[k]] = trial[k];
                    adv[active[k]] = proposed[active[k]];
                }
            snaps.Take(adv, used, active);
        }
        return new AttackResult(FromUnit(adv).MoveToOuterDisposeScope(), used, margin.Select(m => m <= 0).ToArray(), snaps.Finish(adv));
    }

    /// <summary>
    /// SimBA, L2 (Guo et al., ICML 2019, Algorithm 1, pixel basis): take the pixels in a random order; for each, try
    /// x + ε·e and then x − ε·e, keeping the first that lowers the probability of the true class. The steps are
    /// orthogonal, so after k kept steps the perturbation's L2 norm is ε·sqrt(k); no step is kept past
    /// <paramref name="budget"/> (clipping to [0, 1] can only shorten it).
    /// </summary>
    /// <param name="model">The attacked classifier (with its defence).</param>
    /// <param name="images">Clean images [B, C, H, W] in [−1, 1].</param>
    /// <param name="labels">True labels [B].</param>
    /// <param name="budget">L2 budget on the [0, 1] scale.</param>
    /// <param name="step">Step size ε on the [0, 1] scale (Guo et al. 2019 use 0.2 on ImageNet; bcm purify and its reports use 0.25, capped at the budget).</param>
    /// <param name="queries">Query budget per image, the initial query included.</param>
    /// <param name="seed">Seed of the pixel order.</param>
    /// <param name="snapshots">Query budgets at which to keep the attacked images (<see cref="AttackResult.Snapshots"/>); null: none.</param>
    public static AttackResult SimBaL2(BlackBox model, Tensor images, Tensor labels, double budget, double step, int queries, long seed,
        IReadOnlyList<int>? snapshots = null)
    {
        Check(images, labels, budget, queries);
        if (!(step > 0 && step <= budget)) throw new ArgumentException($"the SimBA step must be in (0, budget], got {step}");
        var rng = new Random((int)(seed & 0x7FFFFFFF));
        using var scope = NewDisposeScope();
        var x = ToUnit(images);
        long b = x.shape[0];
        long d = x[0].numel();
        var adv = x.clone();
        var used = new int[b];
        var all = Enumerable.Range(0, (int)b).ToArray();
        var (prob, predicted) = TrueProbability(model, adv, labels, 0, used, all);
        var snaps = new Snapshot(snapshots, adv);
        snaps.Take(adv, used, all);
        int maxSteps = (int)Math.Floor(budget * budget / (step * step) + 1e-9);
        var kept = new int[b];
        var order = Enumerable.Range(0, (int)d).ToArray();
        rng.Shuffle(order);
        int query = 1;
        foreach (int pixel in order)
        {
            // Images still classified correctly, with budget and queries left, try +ε on this pixel, and those it did not help try −ε.
            var untried = all.Where(i => predicted[i] && kept[i] < maxSteps && used[i] < queries).ToArray();
            if (untried.Length == 0) break;
            foreach (double sign in new[] { step, -step })
            {
                untried = untried.Where(i => used[i] < queries).ToArray();
                if (untried.Length == 0) break;
                using var index = tensor(untried.Select(i => (long)i).ToArray(), device: x.device);
                var direction = zeros_like(adv[0]).flatten();
                direction[pixel] = sign;
                var trial = adv.index_select(0, index).Plus(direction.reshape(adv[0].shape)).Clamped(0, 1);
                var (p, correct) = TrueProbability(model, trial, labels.index_select(0, index), query++, used, untried);
                var rejected = new List<int>();
                for (int j = 0; j < untried.Length; j++)
                {
                    int i = untried[j];
                    if (p[j] < prob[i])
                    {
                        prob[i] = p[j];
                        predicted[i] = correct[j];
                        adv[i] = trial[j];
                        kept[i]++;
                    }
                    else rejected.Add(i);
                }
                snaps.Take(adv, used, untried);
                untried = [.. rejected];
            }
        }
        return new AttackResult(FromUnit(adv).MoveToOuterDisposeScope(), used, predicted.Select(p => !p).ToArray(), snaps.Finish(adv));
    }

    /// <summary>
    /// Expectation over transformation (Athalye et al., ICML 2018) for a randomised defence: each query of the attacker
    /// is answered with the defence averaged over <paramref name="draws"/> independent draws of its noise — the log of
    /// the mean softmax probabilities, so that SimBA's true-class probability and Square's margin are those of the
    /// expected prediction. Query q of the attacker uses draws q·k … q·k + k − 1 of <paramref name="box"/>.
    /// </summary>
    public static BlackBox ExpectationOverDraws(BlackBox box, int draws)
    {
        if (draws < 1) throw new ArgumentException($"give at least one draw per query, got {draws}");
        if (draws == 1) return box;
        return (images, query) =>
        {
            using var scope = NewDisposeScope();
            Tensor? sum = null;
            for (int j = 0; j < draws; j++)
            {
                var p = box(images, query * draws + j).softmax(1);
                sum = sum is null ? p : sum.Plus(p);
            }
            return sum!.Times(1.0 / draws).log().MoveToOuterDisposeScope();
        };
    }

    /// <summary>
    /// The attacker's view of robust accuracy over queries: at each budget in <paramref name="budgets"/>, the share of
    /// images the attack had not yet seen misclassified (an image fooled at its q-th query counts as fooled from q on).
    /// </summary>
    public static double[] AccuracyOverQueries(AttackResult result, IReadOnlyList<int> budgets) => AccuracyOverQueries(result.Fooled, result.Queries, budgets);

    /// <summary>The same from each image's outcome (<paramref name="fooled"/>) and the queries it took (<paramref name="queries"/>).</summary>
    public static double[] AccuracyOverQueries(bool[] fooled, int[] queries, IReadOnlyList<int> budgets) =>
        budgets.Select(q => fooled.Zip(queries).Count(x => !(x.First && x.Second <= q)) / (double)fooled.Length).ToArray();

    // The attacked images (on the [0, 1] scale) as they stood when each image's queries first reached each budget.
    private sealed class Snapshot(IReadOnlyList<int>? budgets, Tensor adv)
    {
        private readonly Tensor[]? images = budgets?.Select(_ => adv.clone()).ToArray();
        private readonly bool[][]? taken = budgets?.Select(_ => new bool[adv.shape[0]]).ToArray();

        // After a query and the changes it led to: the images of `which` whose query count has reached a budget.
        public void Take(Tensor adv, int[] used, IEnumerable<int> which)
        {
            if (images is null) return;
            foreach (int i in which)
                for (int k = 0; k < images.Length; k++)
                    if (!taken![k][i] && used[i] >= budgets![k])
                    {
                        images[k][i] = adv[i];
                        taken[k][i] = true;
                    }
        }

        // At the end: the images never queried up to a budget stay as the attack left them.
        public Tensor[]? Finish(Tensor adv)
        {
            if (images is null) return null;
            for (int k = 0; k < images.Length; k++)
                for (int i = 0; i < taken![k].Length; i++)
                    if (!taken[k][i]) images[k][i] = adv[i];
            return images.Select(t => FromUnit(t).MoveToOuterDisposeScope()).ToArray();
        }
    }

    private static void Check(Tensor images, Tensor labels, double budget, int queries)
    {
        if (images.dim() != 4) throw new ArgumentException($"attacks take image batches [B, C, H, W], got shape [{string.Join(", ", images.shape)}]");
        if (labels.shape[0] != images.shape[0]) throw new ArgumentException($"{labels.shape[0]} labels for {images.shape[0]} images");
        if (!(budget > 0 && budget <= 1e3)) throw new ArgumentException($"the attack budget must be positive, got {budget}");
        if (queries < 1 || queries > 1_000_000) throw new ArgumentException($"the query budget must be in 1..1,000,000, got {queries}");
    }

    // The share of pixels in a Square Attack window at query q of n: halved at fixed points of a 10,000-query schedule.
    private static double Share(double pInit, int q, int n)
    {
        int it = (int)(q * 10_000L / Math.Max(n, 1));
        int halvings = new[] { 10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000 }.Count(t => it > t);
        return pInit / Math.Pow(2, halvings);
    }

    private static Tensor Signs(Random rng, long[] shape)
    {
        var values = new float[shape.Aggregate(1L, (a, v) => a * v)];
        for (int i = 0; i < values.Length; i++) values[i] = rng.Next(2) == 0 ? -1 : 1;
        return tensor(values, shape);
    }

    // Margin f_y − max_{k≠y} f_k of each image (positive: still classified correctly); one query for each image listed.
    private static double[] Margins(BlackBox model, Tensor unitImages, Tensor labels, int query, int[] used, int[] which)
    {
        using var scope = NewDisposeScope();
        var logits = model(FromUnit(unitImages), query).to(ScalarType.Float64).cpu();
        foreach (int i in which) used[i]++;
        var y = labels.cpu().to(ScalarType.Int64);
        var own = logits.gather(1, y.unsqueeze(1)).squeeze(1);
        var others = logits.scatter(1, y.unsqueeze(1), FullLike(own.unsqueeze(1), double.NegativeInfinity)).max(1).values;
        return (own - others).data<double>().ToArray();
    }

    // Softmax probability of the true class, and whether it is still the predicted class.
    private static (double[] Probability, bool[] Correct) TrueProbability(BlackBox model, Tensor unitImages, Tensor labels, int query, int[] used, int[] which)
    {
        using var scope = NewDisposeScope();
        var logits = model(FromUnit(unitImages), query).to(ScalarType.Float64).cpu();
        foreach (int i in which) used[i]++;
        var y = labels.cpu().to(ScalarType.Int64);
        var p = logits.softmax(1).gather(1, y.unsqueeze(1)).squeeze(1).data<double>().ToArray();
        var correct = logits.argmax(1).eq(y).data<bool>().ToArray();
        return (p, correct);
    }

    private static Tensor ToUnit(Tensor images) => images.Plus(1).Over(2).Clamped(0, 1);

    private static Tensor FromUnit(Tensor unit) => unit.Times(2).Minus(1);
}
