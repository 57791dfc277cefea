using Bcm.Plans;
using Bcm.Randomness;

namespace Bcm.Inference;

/// <summary>
/// The library's plan engine on float arrays: the same steps (jumps, noise, Heun, Euler, DPM-Solver++(2M)), the same
/// per-sample noise streams, and the arithmetic in float32 in the order the libtorch engine takes it, so that a seed
/// gives the same sample in either engine (within ONNX Runtime's and libtorch's own rounding of the network).
/// </summary>
internal sealed class PlanEngine(ExportConfig config, OnnxSession session, int threads)
{
    private readonly ParallelOptions parallel = new() { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount };
    private readonly ExportConfig config = config;
    private readonly OnnxSession session = session;
    private readonly int size = config.SampleSize;

    /// <summary>A plan by name, family or text, checked to generate (or invert) and to be one this model can run.</summary>
    public Plan Resolve(string text, bool generate)
    {
        Plan plan;
        try
        {
            ArgumentNullException.ThrowIfNull(text, "plan");
            plan = PlanPresets.Resolve(text);
            if (generate) plan.CheckGenerates();
            else if (!plan.IsInversion) throw new PlanException($"'{text}' is not an inversion plan: it must go up in noise level, such as 0.07>80 (invert1)");
        }
        catch (PlanException e)
        {
            throw new InferenceException(e.Message, e);
        }
        CheckRunnable(plan);
        return plan;
    }

    /// <summary>Refuses steps the model's kind cannot take: only a BCM jumps up or to a level above ε.</summary>
    public void CheckRunnable(Plan plan)
    {
        if (config.Kind == "bcm") return;
        string what = config.Kind == "denoiser" ? "an EDM denoiser" : "a consistency model";
        foreach (var step in plan.Steps)
            if (step is Jump j && j.To > config.SigmaMin * (1 + 1e-9))
                throw new InferenceException(
                    $"this export is {what}: it cannot jump from {j.From:0.######} to {j.To:0.######} (only a BCM jumps up, or down to a level above ε); " +
                    (j.To > j.From ? "invert with an ODE plan such as heun-invert:K or dpmpp2m-invert:K" : "sample with an ODE plan such as heun:K, or a plan whose jumps end at ε") +
                    (config.Kind == "denoiser" ? "" : " (a consistency model's ODE plans use it as a denoiser)"));
    }

    /// <summary>Runs <paramref name="plan"/> on the input in batches; sample i draws its noise from seed <paramref name="seeds"/>[i].</summary>
    public SampleBatch Run(SampleBatch input, Plan plan, IReadOnlyList<long> seeds, IReadOnlyList<int>? labels, int batchSize, string stage,
        IProgress<InferenceProgress>? progress, CancellationToken cancellationToken)
    {
        Check.Range("batch size", batchSize, 1, 4096);
        var output = new float[input.Values.Length];
        int batches = (input.Count + batchSize - 1) / batchSize, total = batches * plan.Nfe, done = 0;
        for (int start = 0; start < input.Count; start += batchSize)
        {
            int m = Math.Min(batchSize, input.Count - start);
            var x = input.Values.AsSpan(start * size, m * size).ToArray();
            var batchSeeds = seeds.Skip(start).Take(m).ToArray();
            long[]? y = labels?.Skip(start).Take(m).Select(l => (long)l).ToArray();
            using var batch = new Batch(this, m, y, () =>
            {
                cancellationToken.ThrowIfCancellationRequested();
                progress?.Report(new InferenceProgress(++done, total, stage));
            });
            x = RunBatch(batch, x, plan, batchSeeds, cancellationToken);
            x.CopyTo(output, start * size);
        }
        return new SampleBatch(output, input.Count, input.SampleShape.ToArray());
    }

    private float[] RunBatch(Batch batch, float[] x, Plan plan, long[] seeds, CancellationToken cancellationToken)
    {
        if (plan.StartsWithNoise) AddNoise(x, seeds, 0, (float)plan.Start);
        float[]? previousDenoised = null;
        double previousSigma = 0;
        for (int i = 0; i < plan.Steps.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var step = plan.Steps[i];
            if (step is not OdeStep { Method: OdeMethod.DpmSolver2M }) previousDenoised = null;
            switch (step)
            {
                case Jump j:
                    x = batch.Jump(x, j.From, j.To);
                    break;
                case Noise n:
                    double sigma = n.ReachSigma ? Math.Sqrt(Math.Max(0, n.Sigma * n.Sigma - config.SigmaMin * config.SigmaMin)) : n.Sigma;
                    AddNoise(x, seeds, i + 1, (float)sigma);
                    break;
                case OdeStep { Method: OdeMethod.DpmSolver2M } o:
                    (x, previousDenoised, previousSigma) = DpmSolver2M(batch, x, o, previousDenoised, previousSigma);
                    break;
                case OdeStep o:
                    x = Solve(batch, x, o);
                    break;
                default:
                    throw new NotSupportedException(step.GetType().Name);
            }
        }
        return x;
    }

    // x += scale·z, z from the sample's own stream (seed, Sample, step), as PlanRunner.Noise draws it. The samples' streams
    // are independent, so they are drawn on all cores (drawing is a tenth of a one-step batch's time on one).
    private void AddNoise(float[] x, long[] seeds, int stepIndex, float scale)
    {
        Parallel.For(0, seeds.Length, parallel, () => new float[size], (s, _, z) =>
        {
            TorchCpuNormal.Fill(SeedStreams.GeneratorSeed(seeds[s], SeedStreams.Sample, stepIndex), z);
            var sample = x.AsSpan(s * size, size);
            for (int k = 0; k < size; k++) sample[k] += z[k] * scale;
            return z;
        }, _ => { });
    }

    // EDM's Euler and Heun steps of dx/dσ = (x − D(x, σ))/σ, D(x, σ) = f(x, σ, ε); at ε the slope is taken at the other end (PlanRunner.SolveStep).
    private float[] Solve(Batch batch, float[] x, OdeStep step)
    {
        float h = (float)(step.To - step.From);
        if (OdeStep.AtBoundary(step.From, config.SigmaMin)) return Axpy(x, Slope(batch, x, step.To), h);
        var d = Slope(batch, x, step.From);
        var euler = Axpy(x, d, h);
        if (step.Method == OdeMethod.Euler || OdeStep.AtBoundary(step.To, config.SigmaMin)) return euler;
        var d2 = Slope(batch, euler, step.To);
        float half = (float)((step.To - step.From) * 0.5);
        var result = new float[x.Length];
        for (int k = 0; k < x.Length; k++) result[k] = x[k] + (d[k] + d2[k]) * half;
        return result;
    }

    private float[] Slope(Batch batch, float[] x, double sigma)
    {
        var denoised = batch.Jump(x, sigma, config.SigmaMin);
        float s = (float)sigma;
        for (int k = 0; k < x.Length; k++) denoised[k] = (x[k] - denoised[k]) / s;
        return denoised;
    }

    private static float[] Axpy(float[] x, float[] d, float h)
    {
        var result = new float[x.Length];
        for (int k = 0; k < x.Length; k++) result[k] = x[k] + d[k] * h;
        return result;
    }

    // DPM-Solver++(2M) (PlanRunner.DpmSolver2MStep): returns the new x, and the data prediction and level to keep.
    private (float[] X, float[]? Denoised, double Sigma) DpmSolver2M(Batch batch, float[] x, OdeStep step, float[]? previous, double previousSigma)
    {
        bool fromBoundary = OdeStep.AtBoundary(step.From, config.SigmaMin);
        var d = batch.Jump(x, fromBoundary ? step.To : step.From, config.SigmaMin);
        var next = new float[x.Length];
        if (fromBoundary)
        {
            float c = (float)((step.To - step.From) / step.To);
            for (int k = 0; k < x.Length; k++) next[k] = x[k] + (x[k] - d[k]) * c;
            return (next, null, 0);
        }
        var prediction = d;
        if (previous is not null)
        {
            double h = Math.Log(step.From / step.To), hLast = Math.Log(previousSigma / step.From), r = hLast / h;
            float a = (float)(1 + 1 / (2 * r)), b = (float)(1 / (2 * r));
            prediction = new float[x.Length];
            for (int k = 0; k < x.Length; k++) prediction[k] = d[k] * a - previous[k] * b;
        }
        float ratio = (float)(step.To / step.From), rest = (float)(1 - step.To / step.From);
        for (int k = 0; k < x.Length; k++) next[k] = x[k] * ratio + prediction[k] * rest;
        return (next, d, step.From);
    }

    // One batch's network evaluations: the jump f(x, t, u) with the scalings in float32, as BcmModel.Jump computes them.
    private sealed class Batch(PlanEngine engine, int count, long[]? labels, Action evaluated) : IDisposable
    {
        private readonly AlignedBuffer xIn = new(count * engine.size);
        private readonly AlignedBuffer raw = new(count * engine.size);
        private readonly float[] cNoiseT = new float[count], cNoiseU = new float[count];

        public void Dispose()
        {
            xIn.Dispose();
            raw.Dispose();
        }

        public float[] Jump(float[] x, double from, double to)
        {
            float t = (float)from, u = (float)to, sd = (float)engine.config.SigmaData, sd2 = sd * sd;
            float cIn = 1f / MathF.Sqrt(t * t + sd2);
            float cSkip = (t * u + sd2) / (t * t + sd2);
            float cOut = (t - u) * sd / MathF.Sqrt(t * t + sd2);
            Array.Fill(cNoiseT, CNoise(t));
            Array.Fill(cNoiseU, CNoise(u));
            var input = xIn.Span;
            for (int k = 0; k < input.Length; k++) input[k] = x[k] * cIn;
            engine.session.Forward(xIn, cNoiseT, cNoiseU, labels, count, raw);
            var f = raw.Span;
            var result = new float[x.Length];
            for (int k = 0; k < x.Length; k++) result[k] = cSkip * x[k] + cOut * f[k];
            evaluated();
            return result;
        }

        // c_noise(s) = 250·ln(s + 1e-44), in float32 (where s + 1e-44 is s).
        private static float CNoise(float s) => (float)Math.Log(s) * 250f;
    }
}
