using Bcm.Checkpoints;
using Bcm.Networks;
using Bcm.Training;
using Xunit;
using static TorchSharp.torch;

namespace Bcm.Tests;

/// <summary><c>bcm export</c>: the official layout, key for key, and a round trip back into bcm.</summary>
public sealed class ExportTests
{
    [Theory]
    [InlineData("adm-tiny-uncond")]
    [InlineData("adm-tiny-cond")]
    public void AnOfficialStateDictExportsToTheSameKeysValuesAndArchitecture(string name)
    {
        var dir = TestPaths.NewTempDir();
        string path = Path.Combine(dir, "model.safetensors");
        // The official-layout file carries reference outputs (io.*, loss.*, grad.*) beside the weights: the export has the weights alone.
        var r = ModelExport.Write(TestPaths.Golden(name + ".safetensors"), path);
        Assert.Equal("as loaded", r.Weights);
        var (golden, goldenMeta) = SafeTensors.Load(TestPaths.Golden(name + ".safetensors"));
        var (exported, meta) = SafeTensors.Load(path);
        var weights = golden.Where(kv => !ModelLoader.IsReferenceData(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal(weights.Keys.Order(StringComparer.Ordinal), exported.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, t) in weights) Assert.True(t.equal(exported[key]).all().item<bool>(), key);
        foreach (var key in new[] { "image_size", "in_channels", "out_channels", "model_channels", "channel_mult", "num_res_blocks",
                     "attention_resolutions", "num_head_channels", "num_classes", "use_scale_shift_norm", "resblock_updown" })
            Assert.Equal(goldenMeta[key], meta[key]);
        Assert.Equal(ModelExport.Format, meta["format"]);

        // Loaded back, the network computes the official outputs.
        using var loaded = ModelLoader.Load(path);
        using var _ = no_grad();
        var f = loaded.Model.Jump(golden["io.xt"], golden["io.t"], golden["io.u"], golden.GetValueOrDefault("io.y"));
        Assertions.Close(golden["io.f"], f, 1e-5, what: "io.f after export");
    }

    [Fact]
    public void ARunExportsItsEmaOrOnlineWeightsAndLoadsBack()
    {
        var run = TestPaths.NewTempDir();
        using (var t = Trainer.OpenOrResume(Presets.Get("tiny") with { Steps = 3, CheckpointEvery = 3, SampleEvery = 0 }, run)) t.Run();
        var dir = TestPaths.NewTempDir();
        // One model a folder, as on model hubs: each export has its own config.json and model card.
        string ema = Path.Combine(dir, "ema", "model.safetensors"), online = Path.Combine(dir, "online", "model.safetensors");
        var r = CliRunner.Bcm("export", run, "-o", ema);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("ema weights", r.Out);
        r = CliRunner.Bcm("export", run, "-o", online, "--weights", "online");
        Assert.True(r.Code == 0, r.Err);

        using var x = randn([4, 1, 8, 8], generator: manual_seed(5));
        foreach (var (file, useEma) in new[] { (ema, true), (online, false) })
        {
            using var fromRun = ModelLoader.Load(run, useEma: useEma);
            using var exported = ModelLoader.Load(file);
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(fromRun.Config), System.Text.Json.JsonSerializer.Serialize(exported.Config));
            using var _ = no_grad();
            Assert.True(fromRun.Model.Jump(x, 2.0, 0.002).equal(exported.Model.Jump(x, 2.0, 0.002)).all().item<bool>(), file);
            var (_, meta) = SafeTensors.Inspect(file);
            Assert.Equal("3", meta["step"]);
            Assert.Equal(useEma ? "ema" : "online", meta["weights"]);
        }
        using (var a = ModelLoader.Load(ema))
        using (var b = ModelLoader.Load(online))
        using (no_grad())
            Assert.False(a.Model.Jump(x, 2.0, 0.002).equal(b.Model.Jump(x, 2.0, 0.002)).all().item<bool>(), "EMA and online weights should differ after 3 steps");

        var bad = CliRunner.Bcm("export", run, "-o", Path.Combine(dir, "x.safetensors"), "--weights", "best");
        Assert.Equal(2, bad.Code);
        Assert.Contains("best", bad.Err);
        bad = CliRunner.Bcm("export", run, "-o", Path.Combine(dir, "x.pt"));
        Assert.Equal(2, bad.Code);
        Assert.Contains(".safetensors", bad.Err);
        Assert.Equal(2, CliRunner.Bcm("sample", "-c", run, "--weights", "neither").Code);
    }

    [Fact]
    public void AnExportLoadsBackAsTheKindOfModelItWas()
    {
        // An EDM baseline's weights have u parameters like a BCM's: without the recorded kind it would load back as a BCM.
        var dir = TestPaths.NewTempDir();
        foreach (var (objective, ctOnly, kind) in new[] { ("edm", false, ModelKind.Denoiser), ("bct", true, ModelKind.ConsistencyModel), ("bct", false, ModelKind.Bcm),
                     (JpegRestorerObjective.ObjectiveName, false, ModelKind.Denoiser) })
        {
            var run = Path.Combine(dir, $"{objective}-{ctOnly}");
            var options = JpegRestorerObjective.Prepare(Presets.Get("tiny") with { Steps = 1, CheckpointEvery = 1, SampleEvery = 0, Objective = objective, CtOnly = ctOnly });
            using (var t = Trainer.OpenOrResume(options, run)) t.Run();
            string file = Path.Combine(run + "-export", "model.safetensors");
            ModelExport.Write(run, file);
            using var loaded = ModelLoader.Load(file);
            Assert.Equal(kind, loaded.Kind);
            Assert.Equal(kind, ModelKinds.Read(file));
            // The official arguments describe the weights: a restorer's input convolution also takes the JPEG image.
            var (entries, written) = SafeTensors.Inspect(file);
            Assert.Equal(entries["input_blocks.0.0.weight"].Shape[1].ToString(System.Globalization.CultureInfo.InvariantCulture), written["in_channels"]);
            Assert.Equal(loaded.Config.ConditionChannelCount > 0 ? "2" : "1", written["in_channels"]);
            string card = File.ReadAllText(Path.Combine(run + "-export", "README.md"));
            Assert.Equal(objective == JpegRestorerObjective.ObjectiveName, card.Contains("JPEG restorer") && card.Contains("conditioned on a 1-channel image"));
        }
        // A kind bcm does not know is refused by name, not guessed.
        string edm = Path.Combine(dir, "edm-False-export", "model.safetensors");
        var (tensors, meta) = ModelLoader.ReadTensors(edm);
        var forged = Path.Combine(dir, "forged.safetensors");
        SafeTensors.Save(forged, tensors, new Dictionary<string, string>(meta) { [ModelKinds.MetadataKey] = "oracle" });
        foreach (var t in tensors.Values) t.Dispose();
        Assert.Contains("oracle", Assert.Throws<CheckpointException>(() => ModelLoader.Load(forged)).Message);
    }

    [Fact]
    public void AnMlpExportsWithItsConfigurationAlone()
    {
        var run = TestPaths.NewTempDir();
        using (var t = Trainer.OpenOrResume(Presets.Get("mixture2d") with { Steps = 1, CheckpointEvery = 1, SampleEvery = 0, BatchSize = 16 }, run)) t.Run();
        string path = Path.Combine(TestPaths.NewTempDir(), "mlp.safetensors");
        ModelExport.Write(run, path);
        var (_, meta) = SafeTensors.Inspect(path);
        Assert.False(meta.ContainsKey("model_channels")); // the official code has no MLP
        using var loaded = ModelLoader.Load(path);
        Assert.IsType<MlpConfig>(loaded.Config);
    }

    [Fact]
    public void AnExportCarriesConfigJsonAndAModelCardBesideItsWeights()
    {
        string run = TestModels.TinyRun.Value;
        string dir = TestPaths.NewTempDir(), path = Path.Combine(dir, "model.safetensors");
        var r = ModelExport.Write(run, path);
        Assert.Equal(Path.Combine(dir, "config.json"), r.Config);
        using var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(r.Config));
        var root = config.RootElement;
        var (_, meta) = SafeTensors.Inspect(path);
        var args = root.GetProperty("unet_args");
        foreach (var name in new[] { "image_size", "in_channels", "model_channels", "out_channels", "num_res_blocks", "num_head_channels" })
            Assert.Equal(meta[name], args.GetProperty(name).GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(meta["channel_mult"], "(" + string.Join(", ", args.GetProperty("channel_mult").EnumerateArray().Select(v => v.GetInt32())) + ")");
        Assert.Equal(System.Text.Json.JsonValueKind.Null, args.GetProperty("num_classes").ValueKind);
        Assert.Equal(0.5, root.GetProperty("scalings").GetProperty("sigma_data").GetDouble());
        Assert.Equal(80, root.GetProperty("scalings").GetProperty("sigma_max").GetDouble());
        var network = System.Text.Json.JsonSerializer.Deserialize<NetworkConfig>(root.GetProperty("bcm_network").GetRawText(), IO.JsonFormat.Options);
        using (var loaded = ModelLoader.Load(run))
            Assert.Equal(System.Text.Json.JsonSerializer.Serialize(loaded.Config, IO.JsonFormat.Lines), System.Text.Json.JsonSerializer.Serialize(network, IO.JsonFormat.Lines));

        string card = File.ReadAllText(r.Card);
        foreach (var section in new[] { "## Architecture", "## Data and training budget", "## Measurements", "## Intended use", "## Loading it", "## Licence" })
            Assert.Contains(section, card);
        Assert.Contains("`digits`", card);
        Assert.Contains(RunFolder.OwnOptions(run)!.RunId!, card);

        // A second export into the same folder replaces nothing without --force: config.json and README.md are checked too.
        File.Delete(path);
        var e = Assert.Throws<ArgumentException>(() => ModelExport.Write(run, path));
        Assert.Contains("config.json exists", e.Message);
        ModelExport.Write(run, path, overwrite: true);
    }
}
