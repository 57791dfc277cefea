using Bcm.Cli;
using Xunit;

namespace Bcm.Tests;

/// <summary>Every command's --help ends with examples, and every example parses with the real command tree.</summary>
public sealed class HelpExamplesTests
{
    [Fact]
    public void EveryCommandHasExamplesThatParse()
    {
        var root = CommandTree.Create();
        var names = root.Subcommands.Select(c => c.Name).Append(root.Name).ToList();
        Assert.True(names.Count >= 19);
        foreach (var name in names)
        {
            var examples = Examples.For(name);
            Assert.True(examples.Count is >= 1 and <= 2, $"bcm {name}: {examples.Count} examples");
            foreach (var example in examples)
            {
                var words = example.Split('#')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                Assert.Equal("bcm", words[0]);
                if (name != root.Name) Assert.Equal(name, words[1]);
                var parsed = root.Parse(words[1..]);
                Assert.True(parsed.Errors.Count == 0, $"'{example}': {string.Join("; ", parsed.Errors.Select(e => e.Message))}");
            }
        }
        Assert.Empty(Examples.Commands.Except(names)); // no examples for a command that does not exist
    }

    [Fact]
    public void HelpPrintsTheExamplesLast()
    {
        var r = CliRunner.Bcm("export", "--help");
        Assert.Equal(0, r.Code);
        var tail = r.Out.TrimEnd().Split('\n').TakeLast(3).ToArray();
        Assert.Equal("Examples:", tail[0].Trim());
        Assert.StartsWith("bcm export runs/digits", tail[1].Trim());
    }
}
