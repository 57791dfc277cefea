using System.Globalization;
using System.Text.Json;
using Bcm.Schedules;

namespace Bcm.Plans;

/// <summary>
/// A sampling or inversion procedure as data: the start noise level (x₀ = base + Start·z, with base = 0 to generate
/// and base = image to invert) and an ordered list of jumps and noise injections. Text form: space-separated tokens,
/// a token <c>a>b>c</c> is a chain of jumps, <c>+s</c> adds fresh noise of σ = s, <c>~s</c> adds sqrt(s² − ε²)·z,
/// <c>heun:a>b>c</c> and <c>euler:a>b>c</c> are chains of ODE solver steps (the diffusion baseline);
/// e.g. <c>80>0.002</c>, <c>80>2.4>0.002</c>, <c>80>0.002 +0.1 0.1>1.2>0.002</c>, <c>heun:80>2>0.002</c>.
/// </summary>
public sealed record Plan(double Start, IReadOnlyList<PlanStep> Steps)
{
    /// <summary>
    /// Whether the plan's first step adds <see cref="Start"/>·z to its input (x₀ = base + Start·z: generation from zeros,
    /// inversion of an image); false for a plan run on a point already at <see cref="Start"/> (<see cref="FromGiven"/>).
    /// </summary>
    public bool StartsWithNoise { get; init; } = true;

    /// <summary>This plan, run on a point already at its start level (latents, an ODE state, a point the caller noised): no start noise.</summary>
    public Plan FromGiven() => this with { StartsWithNoise = false };

    /// <summary>Network evaluations the plan costs per sample.</summary>
    public int Nfe => Steps.Sum(s => s.Nfe);

    /// <summary>The noise level after the last step.</summary>
    public double End => Steps.Count == 0 ? Start : Steps[^1].Reached;

    /// <summary>True when the plan ends at a higher noise level than it starts (an inversion).</summary>
    public bool IsInversion => End > Start;

    /// <summary>The text form (see <see cref="Format"/>).</summary>
    public override string ToString() => Format(this);

    /// <summary>Text form: consecutive jumps are written as one chain.</summary>
    public static string Format(Plan plan)
    {
        var tokens = new List<string>();
        string? chain = null;
        PlanStep? previous = null;
        foreach (var step in plan.Steps)
        {
            bool continues = (step, previous) switch
            {
                (Jump, Jump) => true,
                (OdeStep o, OdeStep p) => o.Method == p.Method,
                _ => false,
            };
            if (continues)
                chain += ">" + Jump.Fmt(step.Reached);
            else
            {
                if (chain is not null) tokens.Add(chain);
                chain = step is Noise ? null : step.ToString();
                if (step is Noise) tokens.Add(step.ToString()!);
            }
            previous = step;
        }
        if (chain is not null) tokens.Add(chain);
        return string.Join(' ', tokens);
    }

    /// <summary>The longest plan text <see cref="Parse"/> reads (4,096 characters: a plan a person types is a few dozen; families such as heun:K make long plans without text).</summary>
    public const int MaxTextLength = 4096;

    /// <summary>The most steps a plan's text may hold (a bound on what a request can make the engine do).</summary>
    public const int MaxTextSteps = 1000;

    /// <summary>Parses the text form, in time linear in its length; errors point at the offending token.</summary>
    /// <exception cref="PlanException">The text is malformed, longer than <see cref="MaxTextLength"/>, holds more than <see cref="MaxTextSteps"/> steps, or is not a valid plan.</exception>
    public static Plan Parse(string text, double sigmaMin = Sigmas.Min, double sigmaMax = Sigmas.Max)
    {
        if (text.Length > MaxTextLength)
            throw new PlanException($"the plan text is {text.Length:N0} characters; at most {MaxTextLength:N0} are read (use a family such as ancestral:K or heun:K for long plans)");
        var tokens = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (tokens.Length == 0) throw new PlanException("the plan is empty: give at least one jump, e.g. 80>0.002");
        var steps = new List<PlanStep>();
        double? start = null;
        for (int i = 0; i < tokens.Length; i++)
        {
            string token = tokens[i];
            string where = $"token {i + 1} '{token}'";
            if (token[0] is '+' or '~')
            {
                steps.Add(new Noise(Number(token[1..], where), token[0] == '~'));
                continue;
            }
            OdeMethod? method = token.StartsWith("heun:", StringComparison.Ordinal) ? OdeMethod.Heun
                : token.StartsWith("euler:", StringComparison.Ordinal) ? OdeMethod.Euler
                : token.StartsWith("dpmpp2m:", StringComparison.Ordinal) ? OdeMethod.DpmSolver2M : null;
            var parts = token[(method is null ? 0 : token.IndexOf(':') + 1)..].Split('>');
            if (parts.Length < 2) throw new PlanException($"{where}: expected a jump chain such as 80>0.002, an ODE chain such as heun:80>1>0.002, or noise such as +0.1");
            var values = parts.Select(p => Number(p, where)).ToArray();
            start ??= values[0];
            for (int k = 0; k + 1 < values.Length; k++)
                steps.Add(method is OdeMethod m ? new OdeStep(values[k], values[k + 1], m) : new Jump(values[k], values[k + 1]));
            if (steps.Count > MaxTextSteps) throw new PlanException($"{where}: the plan has more than {MaxTextSteps:N0} steps, the most a plan's text may hold");
        }
        if (start is null) throw new PlanException("the plan has no jump: give at least one, e.g. 80>0.002");
        var plan = new Plan(start.Value, steps);
        plan.Validate(sigmaMin, sigmaMax, tokens);
        return plan;
    }

    /// <summary>Checks σ ∈ [ε, T] and that every jump starts where the previous step ended.</summary>
    public void Validate(double sigmaMin = Sigmas.Min, double sigmaMax = Sigmas.Max, IReadOnlyList<string>? tokens = null)
    {
        if (Steps.Count == 0 || Nfe == 0) throw new PlanException("the plan has no jump: give at least one, e.g. 80>0.002");
        double tol = 1e-9;
        bool InRange(double s) => s >= sigmaMin * (1 - tol) && s <= sigmaMax * (1 + tol);
        double level = Start;
        for (int i = 0; i < Steps.Count; i++)
        {
            string Where() => Locate(i, tokens); // only on an error: locating a token is linear in the plan
            switch (Steps[i])
            {
                case Jump or OdeStep:
                    var (from, to) = Steps[i] is Jump j ? (j.From, j.To) : (((OdeStep)Steps[i]).From, ((OdeStep)Steps[i]).To);
                    if (!InRange(from) || !InRange(to))
                        throw new PlanException($"{Where()}: noise levels must lie in [ε, T] = [{sigmaMin}, {sigmaMax}]");
                    if (Math.Abs(from - level) > tol * Math.Max(1, level))
                        throw new PlanException($"{Where()}: the {(Steps[i] is Jump ? "jump" : "ODE step")} starts at {Jump.Fmt(from)} but the previous step ended at {Jump.Fmt(level)}");
                    if (from == to) throw new PlanException($"{Where()}: a {(Steps[i] is Jump ? "jump" : "step")} from a level to itself does nothing");
                    level = to;
                    break;
                case Noise n:
                    if (!InRange(n.Sigma)) throw new PlanException($"{Where()}: noise σ must lie in [ε, T] = [{sigmaMin}, {sigmaMax}]");
                    level = n.Sigma;
                    break;
            }
        }
    }

    // Maps a step index back to its token for messages.
    private string Locate(int stepIndex, IReadOnlyList<string>? tokens)
    {
        if (tokens is null) return $"step {stepIndex + 1} ({Steps[stepIndex]})";
        int step = 0;
        for (int i = 0; i < tokens.Count; i++)
        {
            int count = tokens[i][0] is '+' or '~' ? 1 : tokens[i].Split('>').Length - 1;
            if (stepIndex < step + count) return $"token {i + 1} '{tokens[i]}'";
            step += count;
        }
        return $"step {stepIndex + 1}";
    }

    private static double Number(string s, string where)
    {
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) && v > 0) return v;
        throw new PlanException($"{where}: '{s}' is not a positive number");
    }

    /// <summary>
    /// Checks that <paramref name="invert"/> goes up in noise level, <paramref name="generate"/> comes down, and the
    /// second starts where the first ends (regeneration starts from the latents, without fresh noise).
    /// </summary>
    public static void CheckRoundTrip(Plan invert, Plan generate)
    {
        if (!invert.IsInversion) throw new PlanException($"inversion plan '{invert}' does not go up in noise level (e.g. 0.07>80)");
        generate.CheckGenerates();
        if (Math.Abs(generate.Start - invert.End) > 1e-9 * invert.End)
            throw new PlanException($"the generation plan '{generate}' starts at {generate.Start}, but the inversion '{invert}' ends at {invert.End}");
    }

    /// <summary>Checks that this plan comes down in noise level, as a generation plan must.</summary>
    public void CheckGenerates()
    {
        if (IsInversion) throw new PlanException($"generation plan '{this}' goes up in noise level (e.g. 80>0.002)");
    }

    /// <summary>The JSON form.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>A plan from its JSON form, validated.</summary>
    /// <exception cref="PlanException">The JSON is not a valid plan.</exception>
    public static Plan FromJson(string json)
    {
        var plan = JsonSerializer.Deserialize<Plan>(json, JsonOptions) ?? throw new PlanException("empty JSON plan");
        plan.Validate();
        return plan;
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };
}

/// <summary>A plan that is malformed or invalid; the message points at the offending token or step.</summary>
public sealed class PlanException(string message) : Errors.BadInputException(message);
