using System.Globalization;
using System.Text.RegularExpressions;
using Bcm.Training;
using Xunit;

namespace Bcm.Tests;

/// <summary>
/// The models committed under <c>models/</c> (so that long measurements can resume on another machine without training
/// again) are what <c>models/README.md</c> says: each row's file exists, has the SHA-256 written there, loads, and is of
/// the kind and size stated.
/// </summary>
public sealed partial class CommittedModelsTests
{
    [Fact]
    public void EveryCommittedModelIsTheOneItsTableDescribes()
    {
        string readme = Path.Combine(TestPaths.Root, "models", "README.md");
        var rows = Row().Matches(File.ReadAllText(readme)).ToList();
        Assert.True(rows.Count > 0, "models/README.md lists no model");
        var listed = new HashSet<string>();
        foreach (Match row in rows)
        {
            string folder = row.Groups["folder"].Value, file = Path.Combine(TestPaths.Root, folder, "model.safetensors");
            listed.Add(Path.GetFullPath(file));
            Assert.True(File.Exists(file), $"{folder}: no model.safetensors");
            Assert.Equal(row.Groups["sha"].Value, Metrics.Classifier.Sha256(file));
            using var loaded = ModelLoader.Load(file);
            Assert.Equal(row.Groups["kind"].Value, loaded.Kind.Name());
            long parameters = loaded.Model.Network.Module.parameters().Sum(p => p.numel());
            Assert.Equal(long.Parse(row.Groups["parameters"].Value.Replace(",", ""), CultureInfo.InvariantCulture), parameters);
        }
        // Nothing committed without a row.
        var present = Directory.EnumerateFiles(Path.Combine(TestPaths.Root, "models"), "*.safetensors", SearchOption.AllDirectories).Select(Path.GetFullPath);
        Assert.DoesNotContain(present, f => !listed.Contains(f));
    }

    // | `models/mnist/bcm` | bcm | 813,793 | … | sha256 |
    [GeneratedRegex(@"^\| `(?<folder>models/[^`]+)` \| (?<kind>[a-z-]+) \| (?<parameters>[\d,]+) \|.*\| `(?<sha>[0-9a-f]{64})` \|$", RegexOptions.Multiline)]
    private static partial Regex Row();
}
