using Bcm.Checkpoints;
using Bcm.Model;
using Bcm.Networks;
using Bcm.Schedules;
using Bcm.Training;
using Xunit;
using static TorchSharp.torch;

namespace Bcm.Tests;

/// <summary>
/// Parity with the official PyTorch implementation (../shared/golden/bcm-official): network output F, the
/// consistency function f, the BCT loss terms and every gradient, for an unconditional and a conditional UNet.
/// </summary>
public sealed class GoldenParityTests
{
    public static TheoryData<string> Models => new() { "adm-tiny-uncond", "adm-tiny-cond" };

    private sealed class Golden : IDisposable
    {
        public required Dictionary<string, Tensor> Tensors { get; init; }
        public required UNet Net { get; init; }
        public required BcmModel Model { get; init; }
        public Tensor this[string key] => Tensors[key];
        public Tensor? Labels => Tensors.GetValueOrDefault("io.y");

        public void Dispose()
        {
            foreach (var t in Tensors.Values) t.Dispose();
            Net.Dispose();
        }
    }

    private static Golden Load(string name)
    {
        var (tensors, meta) = SafeTensors.Load(TestPaths.Golden(name + ".safetensors"));
        var net = new UNet(ModelLoader.OfficialConfig(meta));
        var weights = tensors.Where(kv => !ModelLoader.IsReferenceData(kv.Key))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        StateDict.Load(net, weights, name);
        net.eval();
        return new Golden { Tensors = tensors, Net = net, Model = new BcmModel(net) };
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void RawNetworkOutputMatches(string name)
    {
        using var g = Load(name);
        using var _ = no_grad();
        Assertions.Close(g["io.F"], g.Model.Raw(g["io.xt"], g["io.t"], g["io.u"], g.Labels), 1e-5, what: "io.F");
        Assertions.Close(g["io.F_default_u"], g.Model.Raw(g["io.xt"], g["io.t"], null, g.Labels), 1e-5, what: "io.F_default_u");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void ConsistencyFunctionMatches(string name)
    {
        using var g = Load(name);
        using var _ = no_grad();
        Assertions.Close(g["io.f"], g.Model.Jump(g["io.xt"], g["io.t"], g["io.u"], g.Labels), 1e-5, what: "io.f");
        Assertions.Close(g["io.f_default_u"], g.Model.Jump(g["io.xt"], g["io.t"], null, g.Labels), 1e-5, what: "io.f_default_u");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void LossTermsAndGradientsMatch(string name)
    {
        using var g = Load(name);
        g.Net.train();
        var ts = KarrasGrid.Ascending(11);
        var n = g["loss.idx_t"].data<long>().Select(v => (int)v).ToArray();
        var m = g["loss.idx_u"].data<long>().Select(v => (int)v).ToArray();
        // Target network: an exact copy, parameters frozen; the soft term's gradient flows through it into E.
        using var targetNet = new UNet((UNetConfig)g.Net.Config);
        StateDict.Load(targetNet, StateDict.Get(g.Net), "online");
        foreach (var p in targetNet.parameters()) p.requires_grad = false;
        var target = new BcmModel(targetNet);

        using var terms = BctLoss.Compute(g.Model, target, g["io.x0"], g["io.z"], ts, n, m, g.Labels, huberC: 0.06);
        Assertions.Close(g["loss.ct"], terms.Ct, 1e-5, what: "loss.ct");
        Assertions.Close(g["loss.soft"], terms.Soft, 1e-5, what: "loss.soft");
        Assertions.Close(g["loss.total"], terms.Total, 1e-5, what: "loss.total");

        terms.Total.mean().backward();
        // Relative to each tensor, with an absolute floor at 1e-5 of the largest gradient: the biases of convolutions
        // followed by GroupNorm have a gradient that is zero up to rounding (~1e-9) in both implementations.
        double floor = 1e-5 * g.Tensors.Where(kv => kv.Key.StartsWith("grad.")).Max(kv => kv.Value.abs().max().item<float>());
        int checkedCount = 0;
        foreach (var (pname, p) in g.Net.named_parameters())
        {
            Assert.True(g.Tensors.ContainsKey("grad." + pname), $"golden file lacks grad.{pname}");
            Assertions.Close(g["grad." + pname], p.grad!, 1e-4, floor, what: "grad." + pname);
            checkedCount++;
        }
        Assert.Equal(g.Tensors.Keys.Count(k => k.StartsWith("grad.")), checkedCount);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void PyTorchPickleHoldsTheSameWeights(string name)
    {
        var fromPt = TorchPickleReader.Load(TestPaths.Golden(name + ".state_dict.pt"));
        var (st, _) = SafeTensors.Load(TestPaths.Golden(name + ".safetensors"));
        var weightKeys = st.Keys.Where(k => !ModelLoader.IsReferenceData(k)).ToHashSet();
        Assert.Equal(weightKeys.OrderBy(k => k), fromPt.Keys.OrderBy(k => k));
        foreach (var k in weightKeys) Assert.True((fromPt[k] == st[k]).all().item<bool>(), $"{k} differs");
    }
}
