using Bcm.Tensors;
using Bcm.Plans;
using Xunit;
using static TorchSharp.torch;

namespace Bcm.Tests;

public sealed class PlanTests
{
    [Theory]
    [InlineData("80>0.002", 1, false)]
    [InlineData("80>2.4>0.002", 2, false)]
    [InlineData("80>0.002 +0.1 0.1>1.2>0.002", 3, false)]
    [InlineData("0.07>15>80", 2, true)]
    [InlineData("  80>0.002   ~2.4 2.4>0.002 ", 2, false)]
    public void ParsesTheTextForm(string text, int nfe, bool inversion)
    {
        var plan = Plan.Parse(text);
        Assert.Equal(nfe, plan.Nfe);
        Assert.Equal(inversion, plan.IsInversion);
        Assert.Equal(plan, Plan.Parse(plan.ToString()) with { }, new PlanComparer());
    }

    [Fact]
    public void ZigzagHasTheExpectedSteps()
    {
        var plan = Plan.Parse("80>0.002 +0.1 0.1>1.2>0.002");
        Assert.Equal(80, plan.Start);
        Assert.Equal(new PlanStep[] { new Jump(80, 0.002), new Noise(0.1), new Jump(0.1, 1.2), new Jump(1.2, 0.002) }, plan.Steps);
        Assert.Equal("80>0.002 +0.1 0.1>1.2>0.002", plan.ToString());
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("+0.1", "no jump")]
    [InlineData("80>0.001", "token 1 '80>0.001'")]
    [InlineData("90>0.002", "[ε, T]")]
    [InlineData("80>0.002 2.4>0.002", "token 2 '2.4>0.002': the jump starts at 2.4 but the previous step ended at 0.002")]
    [InlineData("80>abc", "token 1 '80>abc': 'abc' is not a positive number")]
    [InlineData("80>0.002 +x", "token 2 '+x'")]
    [InlineData("80", "token 1 '80': expected a jump chain")]
    [InlineData("80>0.002 +100 100>0.002", "token 2 '+100'")]
    [InlineData("80>-1", "'-1' is not a positive number")]
    [InlineData("80>80", "does nothing")]
    public void InvalidPlansNameTheOffendingToken(string text, string expected)
    {
        var e = Assert.Throws<PlanException>(() => Plan.Parse(text));
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("onestep", 1)]
    [InlineData("ancestral2", 2)]
    [InlineData("zigzag3", 3)]
    [InlineData("mixed4", 4)]
    [InlineData("cm-multistep", 2)]
    [InlineData("invert1", 1)]
    [InlineData("invert2", 2)]
    [InlineData("ancestral:5", 5)]
    [InlineData("zigzag:2", 5)]
    [InlineData("cm:4", 4)]
    public void PresetsHaveTheirNfe(string name, int nfe) => Assert.Equal(nfe, PlanPresets.Resolve(name).Nfe);

    [Fact]
    public void UnknownPresetIsAnError() => Assert.Contains("unknown plan", Assert.Throws<PlanException>(() => PlanPresets.Resolve("fast")).Message);

    [Fact]
    public void JsonRoundTrip()
    {
        var plan = PlanPresets.Resolve("mixed4");
        Assert.Equal(plan.ToString(), Plan.FromJson(plan.ToJson()).ToString());
    }

    [Fact]
    public void SamplesDoNotDependOnBatchSizeOrPosition()
    {
        var model = TestModels.RandomTiny(3);
        var plan = PlanPresets.Resolve("zigzag3");
        using var all = PlanRunner.Run(model, zeros(6, 1, 8, 8), plan, PlanRunner.SeedRange(100, 6));
        using var part = PlanRunner.Run(model, zeros(2, 1, 8, 8), plan, [103, 104]);
        Assertions.Close(all[3..5], part, 1e-5, 1e-6, "samples 3..4 alone vs in a batch of 6");
        using var other = PlanRunner.Run(model, zeros(2, 1, 8, 8), plan, [200, 201]);
        Assert.True((other - part).abs().max().item<float>() > 1e-2, "different seeds must give different samples");
    }

    [Fact]
    public void CallbackSeesEveryStep()
    {
        var model = TestModels.RandomTiny(4);
        var plan = PlanPresets.Resolve("mixed4");
        var seen = new List<(int, PlanStep)>();
        using var x = PlanRunner.Run(model, zeros(2, 1, 8, 8), plan, [1, 2], callback: s => seen.Add((s.Index, s.Step)));
        Assert.Equal(plan.Steps.Select((s, i) => (i, s)), seen);
    }

    [Fact]
    public void StartNoiseIsThePlansFirstStepUnlessItRunsFromAGivenPoint()
    {
        var model = TestModels.RandomTiny(5);
        var plan = Plan.Parse("0.5>3");
        Assert.True(plan.StartsWithNoise);
        using var @base = randn(2, 1, 8, 8);
        using var z = PlanRunner.Noise([7, 8], @base, 0);
        using var noised = PlanRunner.Run(model, @base, plan, [7, 8]);
        using var expected = model.Jump(@base.Plus(z.Times(0.5)), 0.5, 3.0);
        Assertions.Close(expected, noised, 1e-6, 0, "x₀ = base + Start·z, then the jump");
        var given = Plan.FromJson(plan.FromGiven().ToJson()); // the JSON form keeps it
        Assert.False(given.StartsWithNoise);
        Assert.Equal(plan.ToString(), given.ToString());
        Assert.True(Plan.FromJson(plan.ToJson()).StartsWithNoise);
    }

    [Fact]
    public void JumpIsTheConsistencyFunction()
    {
        var model = TestModels.RandomTiny(5);
        var plan = Plan.Parse("0.5>3");
        using var @base = randn(2, 1, 8, 8);
        using var x = PlanRunner.Run(model, @base, plan.FromGiven(), [7, 8]);
        using var expected = model.Jump(@base, 0.5, 3.0);
        Assertions.Close(expected, x, 1e-6, 0, "one-jump plan");
    }

    private sealed class PlanComparer : IEqualityComparer<Plan>
    {
        public bool Equals(Plan? a, Plan? b) => a!.Start == b!.Start && a.Steps.SequenceEqual(b.Steps);
        public int GetHashCode(Plan p) => p.Steps.Count;
    }
}
