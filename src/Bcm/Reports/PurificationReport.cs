using System.Diagnostics;
using System.Globalization;
using System.Text;
using Bcm.Data;
using Bcm.Editing;
using Bcm.IO;
using Bcm.Metrics;
using Bcm.Model;
using Bcm.Randomness;
using static TorchSharp.torch;
using Bcm.Tensors;

namespace Bcm.Reports;

/// <summary>
/// Adversarial purification measured (the paper's second arXiv version): black-box attacks on a classifier behind each
/// defence — none, the BCM purifiers at a sweep of σ*, the ODE purifier at equal NFE, Gaussian noise + blur — with the
/// attacker querying the whole defended pipeline (purifier and classifier, fresh purification noise at every query).
/// Clean accuracy, robust accuracy (the attacked images through the pipeline once more, with noise the attacker never
/// saw) and queries per image, for Square Attack (L∞) and SimBA (L2). Writes purification.csv and report.md.
/// </summary>
public static class PurificationReport
{
    /// <summary>What to measure.</summary>
    public sealed record Options
    {
        /// <summary>Levels σ* of the purifiers (on the [−1, 1] scale of the images).</summary>
        public double[] Sigmas { get; init; } = [0.25, 0.5, 1.0];
        /// <summary>Purifiers to measure (see <see cref="Purification.Methods"/>); no defence is always measured.</summary>
        public string[] Methods { get; init; } = Purification.Methods;
        /// <summary>Query budget per image and attack.</summary>
        public int Queries { get; init; } = 100;
        /// <summary>Square Attack's L∞ budget on the [0, 1] scale (the MNIST convention: 0.3).</summary>
        public double LinfEpsilon { get; init; } = 0.3;
        /// <summary>SimBA's L2 budget on the [0, 1] scale.</summary>
        public double L2Budget { get; init; } = 1.5;
        /// <summary>SimBA's step on the [0, 1] scale.</summary>
        public double SimBaStep { get; init; } = 0.25;
        /// <summary>Seed of the attacks' choices and the purifiers' noise.</summary>
        public long Seed { get; init; }
        /// <summary>Draws of the defence's noise averaged per attacker query (expectation over transformation; 1: none).</summary>
        public int EotDraws { get; init; } = 1;
        /// <summary>
        /// Images attacked at a time, each chunk's results saved in <c>progress/</c> so that an interrupted measurement
        /// resumes at the chunk it was in; 0 (the default): all at once, nothing saved until the end of each row. A chunk's
        /// attack draws from its own seed, so chunked and unchunked runs are different (equally valid) draws. Processes that
        /// measure different defences (<see cref="Methods"/>) of one measurement may share a folder: each report holds every
        /// row the folder has finished.
        /// </summary>
        public int Chunk { get; init; }

        /// <summary>Refuses values out of range, naming the option, the value and the range allowed.</summary>
        public void Validate()
        {
            if (Queries is < 1 or > 100_000) throw new Errors.BadInputException($"--queries {Queries}: must be in 1..100000");
            if (!(LinfEpsilon is > 0 and <= 1)) throw new Errors.BadInputException($"--linf {LinfEpsilon}: must be in (0, 1]");
            if (!(L2Budget is > 0 and <= 100)) throw new Errors.BadInputException($"--l2 {L2Budget}: must be in (0, 100]");
            if (Sigmas.Length == 0) throw new Errors.BadInputException("--levels: give at least one σ*");
            if (EotDraws is < 1 or > 1000) throw new Errors.BadInputException($"--eot-draws {EotDraws}: must be in 1..1000");
            if (Chunk is < 0 or > 1_000_000) throw new Errors.BadInputException($"--chunk {Chunk}: must be in 0..1000000 (0: all images at once)");
            foreach (var m in Methods)
                if (m != "none") foreach (var s in Sigmas) Purification.PlanFor(m, s); // an unknown purifier or a σ* out of range, named
        }
    }

    /// <summary>One defence under one attack.</summary>
    /// <param name="Defence">The defence's name (<c>none</c>, or purifier@σ*).</param>
    /// <param name="Method">The purifier (<c>none</c>, <c>bcm2</c>, <c>bcm1</c>, <c>ode2</c>, <c>noise-blur</c>).</param>
    /// <param name="Sigma">σ* (0 without a defence).</param>
    /// <param name="Nfe">Network evaluations of the purifier per query.</param>
    /// <param name="Attack">The attack and its budget.</param>
    /// <param name="CleanAccuracy">Accuracy of the defended classifier on the clean images.</param>
    /// <param name="RobustAccuracy">Accuracy on the attacked images.</param>
    /// <param name="AttackerSuccess">Share of images the attacker saw misclassified within its budget.</param>
    /// <param name="MeanQueries">Mean queries per image.</param>
    /// <param name="Seconds">Wall time of this row.</param>
    /// <param name="Curve">The attacker's view of robust accuracy at query budgets up to the row's (<see cref="Attacks.AccuracyOverQueries(bool[], int[], IReadOnlyList{int})"/>).</param>
    /// <param name="RobustCurve">
    /// Robust accuracy at the same budgets: the images as the attack had left them after each budget (<see cref="AttackResult.Snapshots"/>)
    /// through the pipeline once more, with noise the attacker never saw; its last point is <paramref name="RobustAccuracy"/>.
    /// </param>
    public sealed record Row(string Defence, string Method, double Sigma, int Nfe, string Attack, double CleanAccuracy, double RobustAccuracy,
        double AttackerSuccess, double MeanQueries, double Seconds, IReadOnlyList<(int Queries, double Accuracy)>? Curve = null,
        IReadOnlyList<(int Queries, double Accuracy)>? RobustCurve = null);

    /// <summary>The query budgets of the curves: 1, 2, 5, 10, 20, 50, … up to <paramref name="queries"/>, which is always included.</summary>
    public static int[] CurveBudgets(int queries)
    {
        var budgets = new List<int>();
        for (long decade = 1; decade < queries; decade *= 10)
            foreach (long m in new[] { 1, 2, 5 })
                if (decade * m < queries) budgets.Add((int)(decade * m));
        budgets.Add(queries);
        return [.. budgets];
    }

    /// <summary>
    /// Measures every defence of <paramref name="options"/> against both attacks on <paramref name="images"/> (in [−1, 1])
    /// with their <paramref name="labels"/>, writes the report into <paramref name="outDir"/> and returns its rows.
    /// </summary>
    public static List<Row> Write(BcmModel model, Classifier classifier, Tensor images, Tensor labels, string outDir, Options? options = null,
        IProgress<Row>? progress = null, IProgress<string>? log = null)
    {
        options ??= new Options();
        options.Validate(); // unknown purifiers and bad levels fail before any attack
        var defences = new List<(string Method, double Sigma)> { ("none", 0) };
        foreach (var method in options.Methods)
            foreach (var sigma in options.Sigmas) defences.Add((method, sigma));
        var rows = new List<Row>();
        Directory.CreateDirectory(outDir);
        var saved = options.Chunk > 0 ? Progress.Open(outDir, options, images, labels, model, classifier) : null;
        int n = (int)images.shape[0];
        foreach (var (method, sigma) in defences)
            foreach (var attack in AttackNames)
            {
                var row = Measure(model, classifier, images, labels, method, sigma, attack, options, saved, log);
                rows.Add(row);
                progress?.Report(row);
                // After every row, so that a long run can be read as it goes; with saved progress the report also holds the
                // rows that other processes measuring other defences into the same folder have finished.
                WriteFiles([.. rows, .. saved?.FinishedRows(n, options).Where(r => !rows.Any(own => own.Defence == r.Defence && own.Attack == r.Attack)) ?? []],
                    options, n, outDir);
            }
        return rows;
    }

    private static readonly string[] AttackNames = ["square-linf", "simba-l2"];

    // A defence's name in rows and in the progress files: none, or purifier@σ*.
    private static string DefenceName(string method, double sigma) =>
        method == "none" ? "none" : $"{method}@{sigma.ToString("R", CultureInfo.InvariantCulture)}";

    /// <summary>What one chunk of images gave under one defence and attack, per image.</summary>
    /// <param name="First">Index of the chunk's first image.</param>
    /// <param name="Clean">Whether the defended classifier got each clean image right.</param>
    /// <param name="Robust">Whether it got each attacked image right (fresh noise).</param>
    /// <param name="Fooled">Whether the attacker saw each image misclassified within its budget.</param>
    /// <param name="Queries">Queries the attacker spent on each image.</param>
    /// <param name="Seconds">Wall time of the chunk.</param>
    /// <param name="RobustOverQueries">Whether it got each image right as the attack had left it after each budget of <see cref="CurveBudgets"/> (fresh noise).</param>
    public sealed record ChunkResult(int First, bool[] Clean, bool[] Robust, bool[] Fooled, int[] Queries, double Seconds, bool[][] RobustOverQueries);

    private static Row Measure(BcmModel model, Classifier classifier, Tensor images, Tensor labels, string method, double sigma, string attack, Options options,
        Progress? saved, IProgress<string>? log)
    {
        int n = (int)images.shape[0], chunk = options.Chunk > 0 ? Math.Min(options.Chunk, n) : n;
        string defence = DefenceName(method, sigma);
        var parts = new List<ChunkResult>();
        double measuredSeconds = 0; // of the chunks measured by this call, for the estimate of what is left
        int measured = 0;
        for (int first = 0; first < n; first += chunk)
        {
            int count = Math.Min(chunk, n - first);
            if (saved?.Load(defence, attack, first, count) is { } done)
            {
                parts.Add(done);
                continue;
            }
            using var part = images.narrow(0, first, count);
            using var partLabels = labels.narrow(0, first, count);
            // Unchunked, the attack's seed is the run's; a chunk's is its own, so that a resumed chunk repeats exactly.
            long attackSeed = saved is null ? options.Seed : (long)(Seeds.Mix(options.Seed, first) & 0x7FFF_FFFF);
            var result = MeasureChunk(model, classifier, part, partLabels, first, method, sigma, attack, attackSeed, options);
            saved?.Save(defence, attack, result);
            (measuredSeconds, measured) = (measuredSeconds + result.Seconds, measured + 1);
            if (saved is not null && log is not null)
            {
                int left = 0;
                for (int next = first + chunk; next < n; next += chunk) if (!saved.Has(defence, attack, next)) left++;
                var eta = TimeSpan.FromSeconds(left * measuredSeconds / measured);
                log.Report($"{defence} {attack}: images {first}..{first + count - 1} of {n} done ({result.Seconds:F0} s" +
                           (left > 0 ? $"; {left} chunk{(left == 1 ? "" : "s")} left in this row, about {(int)eta.TotalHours}:{eta:mm\\:ss} at this rate)" : ")"));
            }
            parts.Add(result);
        }
        return Summarise(defence, method, sigma, attack, parts, options);
    }

    // A row from the results of every chunk of one defence and attack.
    private static Row Summarise(string defence, string method, double sigma, string attack, List<ChunkResult> parts, Options options)
    {
        int n = parts.Sum(p => p.Clean.Length);
        bool[] Join(Func<ChunkResult, bool[]> of) => parts.SelectMany(of).ToArray();
        var fooled = Join(p => p.Fooled);
        var queries = parts.SelectMany(p => p.Queries).ToArray();
        int nfe = method == "none" ? 0 : Purification.PlanFor(method, sigma)?.Nfe ?? 0;
        string budget = (attack == "square-linf" ? $"L∞ {options.LinfEpsilon}" : $"L2 {options.L2Budget}") + (options.EotDraws > 1 ? $", EOT over {options.EotDraws} draws" : "");
        var budgets = CurveBudgets(options.Queries);
        var curve = budgets.Zip(Attacks.AccuracyOverQueries(fooled, queries, budgets)).ToList();
        double Share(bool[] b) => b.Count(v => v) / (double)n;
        var robustCurve = budgets.Select((q, k) => (q, Share(Join(p => p.RobustOverQueries[k])))).ToList();
        return new Row(defence, method, sigma, nfe, $"{attack} ({budget}, {options.Queries} queries)", Share(Join(p => p.Clean)), Share(Join(p => p.Robust)),
            Share(fooled), queries.Average(), parts.Sum(p => p.Seconds), curve, robustCurve);
    }

    // One chunk: images first..first+count−1 of the measurement (purification noise seeded by their index in it).
    private static ChunkResult MeasureChunk(BcmModel model, Classifier classifier, Tensor images, Tensor labels, int first, string method, double sigma,
        string attack, long attackSeed, Options options)
    {
        var clock = Stopwatch.StartNew();
        // Every query draws fresh purification noise: seeds depend on (seed, query, image).
        Tensor Defended(Tensor x, long stream)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var seeds = Enumerable.Range(0, (int)x.shape[0]).Select(i => (long)Seeds.Mix(options.Seed, Seeds.Sample, stream, first + i)).ToArray();
            var purified = method == "none" ? x : Purification.Run(model, x.to(model.Device), method, sigma, seeds);
            return classifier.forward(purified.to(images.device).Clamped(-1, 1)).MoveToOuterDisposeScope();
        }
        bool[] Correct(Tensor x, long stream)
        {
            using var logits = Defended(x, stream);
            using var right = logits.argmax(1).eq(labels).cpu();
            return right.data<bool>().ToArray();
        }
        var clean = Correct(images, -1);
        var box = Attacks.ExpectationOverDraws((x, query) => Defended(x, query), options.EotDraws);
        var budgets = CurveBudgets(options.Queries);
        using var result = attack == "square-linf"
            ? Attacks.SquareLinf(box, images, labels, options.LinfEpsilon, options.Queries, attackSeed, snapshots: budgets)
            : Attacks.SimBaL2(box, images, labels, options.L2Budget, options.SimBaStep, options.Queries, attackSeed, snapshots: budgets);
        var robust = Correct(result.Adversarial, -2);
        // Fresh noise for each budget's images; the last budget's images are the final ones, read once (so the curve ends at Robust).
        var overQueries = budgets.Select((q, k) => q >= options.Queries ? robust : Correct(result.Snapshots![k], -3 - k)).ToArray();
        return new ChunkResult(first, clean, robust, result.Fooled, result.Queries, clock.Elapsed.TotalSeconds, overQueries);
    }

    /// <summary>
    /// The chunks a measurement has finished, in <c>OUT/progress/</c>: one JSON file per defence, attack and chunk, written
    /// atomically, beside the options and fingerprints of the images and of the two networks' weights they belong to
    /// (another measurement is refused: a folder of progress carried to another machine resumes only with the same model
    /// and classifier).
    /// </summary>
    private sealed class Progress
    {
        private readonly string dir;
        private readonly int budgets; // points of each chunk's robust curve

        private Progress(string dir, int budgets) => (this.dir, this.budgets) = (dir, budgets);

        public static Progress Open(string outDir, Options options, Tensor images, Tensor labels, BcmModel model, Classifier classifier)
        {
            string dir = Path.Combine(outDir, "progress");
            Directory.CreateDirectory(dir);
            string fingerprint = TensorFingerprint.Of([images, labels]);
            string what = System.Text.Json.JsonSerializer.Serialize(new { Format = 2, options.Queries, options.LinfEpsilon, options.L2Budget, options.SimBaStep, options.Seed, options.EotDraws, options.Chunk,
                Images = images.shape[0], Fingerprint = fingerprint,
                Model = model.Network.WeightsFingerprint, Classifier = TensorFingerprint.Of(classifier.state_dict().Values) }, JsonFormat.Options);
            string file = Path.Combine(dir, "measurement.json");
            if (File.Exists(file) && InputFile.ReadAllText(file, 1 << 16, "measurement description") != what)
                throw new Errors.BadInputException($"{dir} holds the progress of another measurement (other images, model, classifier, attack settings, seed or --chunk): " +
                                                   "use another --out, or delete that folder to start again");
            AtomicFile.WriteAllText(file, what);
            return new Progress(dir, CurveBudgets(options.Queries).Length);
        }

        private string FileOf(string defence, string attack, int first) =>
            Path.Combine(dir, $"{string.Concat(defence.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '_'))}_{attack}_{first}.json");

        /// <summary>The saved result of the chunk of <paramref name="count"/> images from <paramref name="first"/>, or null when it was not finished.</summary>
        /// <exception cref="Errors.BadInputException">The file is not that chunk's result (damaged, another chunk's, not a regular file).</exception>
        public ChunkResult? Load(string defence, string attack, int first, int count)
        {
            string file = FileOf(defence, attack, first);
            if (!File.Exists(file)) return null;
            ChunkResult? result;
            try
            {
                // A chunk's result is at most a few hundred bytes per image (indented JSON, a dozen or so values each).
                result = System.Text.Json.JsonSerializer.Deserialize<ChunkResult>(InputFile.ReadAllText(file, 4096 + 512L * count, "chunk result"), JsonFormat.Options);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException)
            {
                throw new Errors.BadInputException($"{file} is not a chunk's result ({e.Message}): delete it to measure that chunk again", e);
            }
            if (result is null || result.First != first || new[] { result.Clean?.Length, result.Robust?.Length, result.Fooled?.Length, result.Queries?.Length }.Any(l => l != count)
                || result.RobustOverQueries?.Length != budgets || result.RobustOverQueries.Any(r => r?.Length != count))
                throw new Errors.BadInputException($"{file} is not the result of images {first}..{first + count - 1}: delete it to measure that chunk again");
            return result;
        }

        /// <summary>Whether the chunk from <paramref name="first"/> has a saved result (not checked: see <see cref="Load"/>).</summary>
        public bool Has(string defence, string attack, int first) => File.Exists(FileOf(defence, attack, first));

        public void Save(string defence, string attack, ChunkResult result) => JsonFormat.Write(FileOf(defence, attack, result.First), result);

        /// <summary>
        /// The rows of every defence and attack whose chunks of the <paramref name="n"/> images are all saved here, whichever
        /// process measured them (several may measure different defences into one folder): no defence first, then the
        /// purifiers by name and σ*, Square before SimBA.
        /// </summary>
        public IEnumerable<Row> FinishedRows(int n, Options options)
        {
            int chunk = Math.Min(options.Chunk, n);
            // File names are METHOD_SIGMA_ATTACK_FIRST, or none_ATTACK_FIRST (see FileOf).
            static (string Method, double Sigma, string Attack)? Parse(string[] p) => p switch
            {
                ["none", var attack, _] => ("none", 0.0, attack),
                [var method, var sigma, var attack, _] when Purification.AllMethods.Contains(method)
                    && double.TryParse(sigma, NumberStyles.Float, CultureInfo.InvariantCulture, out double level) => (method, level, attack),
                _ => null,
            };
            var found = Directory.EnumerateFiles(dir, "*.json")
                .Select(f => Parse(Path.GetFileNameWithoutExtension(f).Split('_')))
                .OfType<(string Method, double Sigma, string Attack)>()
                .Where(d => AttackNames.Contains(d.Attack))
                .Distinct()
                .OrderBy(d => d.Method != "none").ThenBy(d => d.Method, StringComparer.Ordinal).ThenBy(d => d.Sigma).ThenBy(d => Array.IndexOf(AttackNames, d.Attack));
            foreach (var (method, sigma, attack) in found)
            {
                string defence = DefenceName(method, sigma);
                var parts = new List<ChunkResult>();
                for (int first = 0; first < n && Load(defence, attack, first, Math.Min(chunk, n - first)) is { } part; first += chunk) parts.Add(part);
                if (parts.Sum(p => p.Clean.Length) == n) yield return Summarise(defence, method, sigma, attack, parts, options);
            }
        }
    }

    private static void WriteFiles(List<Row> rows, Options options, long images, string outDir)
    {
        Table.WriteCsv(rows, Path.Combine(outDir, "purification.csv"));
        var md = new StringBuilder();
        md.AppendLine("# Adversarial purification");
        md.AppendLine();
        md.AppendLine($"{images} images; attacks query the whole defended pipeline (fresh purification noise at every query), {options.Queries} queries per image; " +
                      $"Square Attack L∞ ε = {options.LinfEpsilon}, SimBA L2 budget {options.L2Budget} (step {options.SimBaStep}), both on the [0, 1] scale; σ* on the [−1, 1] scale.");
        md.AppendLine("Robust accuracy: the attacked images through the pipeline once more, with purification noise the attacker never saw.");
        md.AppendLine("Over the query budget (purification-curve.csv): robust accuracy of the images as the attack had left them after each budget " +
                      "(curve-ATTACK.png), and the attacker's view, the share of images it had not yet seen misclassified (curve-ATTACK-attacker.png).");
        md.AppendLine();
        md.Append(Table.Markdown(rows));
        AtomicFile.WriteAllText(Path.Combine(outDir, "report.md"), md.ToString());
        WriteCurves(rows, outDir);
    }

    // purification-curve.csv, and per attack two plots over the query budget: robust accuracy under fresh noise
    // (curve-ATTACK.png) and the attacker's view (curve-ATTACK-attacker.png).
    private static void WriteCurves(List<Row> rows, string outDir)
    {
        var csv = new CsvTable(["defence", "attack", "queries", "robust_accuracy", "attacker_view_accuracy"], "G6");
        foreach (var r in rows)
            foreach (var ((q, robust), (_, seen)) in (r.RobustCurve ?? []).Zip(r.Curve ?? [])) csv.Row(r.Defence, r.Attack, q, robust, seen);
        csv.Write(Path.Combine(outDir, "purification-curve.csv"));
        foreach (var attack in AttackNames)
            foreach (var (suffix, view, curveOf) in new (string, string, Func<Row, IReadOnlyList<(int Queries, double Accuracy)>?>)[]
                     { ("", "robust accuracy (fresh noise)", r => r.RobustCurve), ("-attacker", "the attacker's view of accuracy", r => r.Curve) })
            {
                // The accuracy axis is 0-1 on every plot, so that the reports of two runs (the BCM purifiers and the
                // diffusion comparator) read side by side.
                var plot = new Imaging.Plot
                {
                    Title = $"{attack}: {view} over queries", XLabel = "queries per image", YLabel = "accuracy", LogX = true, YRange = (0, 1),
                };
                foreach (var r in rows.Where(r => r.Attack.StartsWith(attack, StringComparison.Ordinal) && curveOf(r) is { Count: > 0 }))
                    plot.Add(new Imaging.Series(r.Defence, curveOf(r)!.Select(c => (double)c.Queries).ToArray(), curveOf(r)!.Select(c => c.Accuracy).ToArray()));
                plot.Save(Path.Combine(outDir, $"curve-{attack}{suffix}.png"));
            }
    }

    // The table of purification.csv and report.md (method and σ* in the CSV only: the defence's name holds both).
    private static readonly ReportTable<Row> Table = new(
    [
        Column<Row>.Of("defence", "defence", r => r.Defence),
        Column<Row>.Of("method", null, r => r.Method),
        Column<Row>.Of("sigma", null, r => r.Sigma),
        Column<Row>.Of("nfe", "NFE", r => r.Nfe),
        Column<Row>.Of("attack", "attack", r => r.Attack),
        Column<Row>.Of("clean_accuracy", "clean accuracy", r => r.CleanAccuracy, "P1"),
        Column<Row>.Of("robust_accuracy", "robust accuracy", r => r.RobustAccuracy, "P1"),
        Column<Row>.Of("attacker_success", "attacker's success", r => r.AttackerSuccess, "P1"),
        Column<Row>.Of("mean_queries", "mean queries", r => r.MeanQueries, "F1"),
        Column<Row>.Of("seconds", "seconds", r => r.Seconds, "F0"),
    ], "G6");
}
