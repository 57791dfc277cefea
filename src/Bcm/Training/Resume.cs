using System.Reflection;
using System.Text.Json;

namespace Bcm.Training;

/// <summary>An option of a run changed when it was resumed: recorded in options.json, in every later checkpoint and in stats.jsonl.</summary>
/// <param name="Step">The step the run resumed at.</param>
/// <param name="Name">The option's command-line name (e.g. <c>lr</c>).</param>
/// <param name="From">Its value before, as JSON.</param>
/// <param name="To">Its value from this step on, as JSON.</param>
public sealed record OptionOverride(long Step, string Name, string From, string To);

/// <summary>A resume asked for options that differ from the run's own without naming them as overrides.</summary>
public sealed class ResumeConflictException(string message) : Errors.BadInputException(message);

/// <summary>
/// How a resumed run's saved options meet the options asked for: the saved options win. A different total of steps is
/// taken (it rescales the curriculum from the current step on); a different device is taken; any other difference is
/// refused unless it is named as an override, and then it is recorded. The network, the preset, the objective and the
/// starting point cannot be changed on resume.
/// </summary>
public static class Resume
{
    // Option names as the command line spells them; other fields use their property name in kebab case.
    private static readonly Dictionary<string, string> CliNames = new()
    {
        [nameof(TrainOptions.LearningRate)] = "lr",
        [nameof(TrainOptions.RandomFlip)] = "flip",
        [nameof(TrainOptions.KeepCheckpoints)] = "keep",
    };

    private static readonly HashSet<string> Fixed = ["network", "preset", "objective", "init-from", "class-names"];
    private static readonly HashSet<string> Free = ["steps", "device"];

    private static readonly (string Name, PropertyInfo Property)[] Fields = typeof(TrainOptions)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.CanRead && p.GetIndexParameters().Length == 0 && p.Name is not (nameof(TrainOptions.History) or nameof(TrainOptions.RunId)))
        .Select(p => (CliNames.GetValueOrDefault(p.Name) ?? Kebab(p.Name), p))
        .ToArray();

    /// <summary>The names <c>--override</c> accepts.</summary>
    public static IEnumerable<string> OverridableNames => Fields.Select(f => f.Name).Where(n => !Fixed.Contains(n) && !Free.Contains(n));

    /// <summary>
    /// The options to resume with: <paramref name="saved"/> with the differences of <paramref name="requested"/> that are
    /// allowed (steps, device, and the names in <paramref name="overrides"/>), the overrides appended to its history.
    /// </summary>
    /// <exception cref="ResumeConflictException">Options differ without being named, a fixed option differs, an override names no option, or the steps are fewer than done.</exception>
    public static TrainOptions Reconcile(TrainOptions saved, TrainOptions requested, long step, IReadOnlyCollection<string> overrides)
    {
        var unknown = overrides.Where(n => !OverridableNames.Contains(n)).ToArray();
        if (unknown.Length > 0)
            throw new ResumeConflictException($"--override {string.Join(",", unknown)}: not an option that can change on resume (one of {string.Join(", ", OverridableNames)})");
        if (requested.Steps < step)
            throw new ResumeConflictException($"the run is at step {step:N0}; --steps {requested.Steps:N0} is fewer (give at least {step:N0})");
        var refused = new List<string>();
        var changes = new List<OptionOverride>();
        var result = saved;
        foreach (var (name, property) in Fields)
        {
            string from = Json(property.GetValue(saved)), to = Json(property.GetValue(requested));
            if (from == to) continue;
            if (Free.Contains(name) || overrides.Contains(name))
            {
                result = With(result, property, property.GetValue(requested));
                if (name != "device") changes.Add(new OptionOverride(step, name, from, to));
            }
            else refused.Add($"{name}: the run has {from}, asked for {to}{(Fixed.Contains(name) ? " (cannot change on resume)" : "")}");
        }
        if (refused.Count > 0)
        {
            var changeable = refused.Select(r => r[..r.IndexOf(':')]).Where(n => !Fixed.Contains(n)).ToArray();
            throw new ResumeConflictException("resuming a run with different options; the run's own options win. Differences:\n  " + string.Join("\n  ", refused) +
                (changeable.Length > 0 ? $"\nTo change them from this step on, add --override {string.Join(",", changeable)}; to keep the run's options, leave them out." : ""));
        }
        return result with { History = [.. saved.History, .. changes] };
    }

    private static string Json(object? value) => JsonSerializer.Serialize(value, IO.JsonFormat.Lines);

    private static TrainOptions With(TrainOptions options, PropertyInfo property, object? value)
    {
        var copy = options with { };
        property.SetValue(copy, value); // init-only setters are settable by reflection on a fresh copy
        return copy;
    }

    private static string Kebab(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
