using Bcm.Networks;

namespace Bcm.Training;

/// <summary>Named starting points for training: network size, data and schedule fitted to a use.</summary>
public static class Presets
{
    /// <summary>Every preset by name: a one-line description and a function that makes its options.</summary>
    public static readonly IReadOnlyDictionary<string, (string Description, Func<TrainOptions> Create)> All =
        new Dictionary<string, (string, Func<TrainOptions>)>
        {
            ["tiny"] = ("8x8 digits, C=32, 2 levels, no attention: for tests (seconds)", () => new TrainOptions
            {
                Preset = "tiny", Data = "digits", BatchSize = 32, Steps = 300, EmaHalfLifeImages = 2_000,
                LearningRate = 1e-3, ScalesStart = 10, ScalesEnd = 160, CheckpointEvery = 100, SampleEvery = 0,
                Network = new UNetConfig
                {
                    ImageSize = 8, InChannels = 1, OutChannels = 1, ModelChannels = 32, ChannelMult = [1, 2],
                    NumResBlocks = 1, AttentionResolutions = [], NumHeadChannels = 32,
                },
            }),
            ["digits"] = ("8x8 UCI digits (built in), C=32, 2 levels, attention at 4x4: the README's main job (about 10 min on 2 cores)", () => new TrainOptions
            {
                Preset = "digits", Data = "digits", BatchSize = 32, Steps = 1_500, EmaHalfLifeImages = 5_000,
                LearningRate = 1e-3, ScalesStart = 10, ScalesEnd = 160, CheckpointEvery = 250, SampleEvery = 250,
                Network = new UNetConfig
                {
                    ImageSize = 8, InChannels = 1, OutChannels = 1, ModelChannels = 32, ChannelMult = [1, 2],
                    NumResBlocks = 1, AttentionResolutions = [2], NumHeadChannels = 32,
                },
            }),
            ["mnist"] = ("MNIST resized to 16x16, C=32, 2 levels, 1 res block, attention at 8x8: CPU-sized (hours on 2 cores)", () => new TrainOptions
            {
                Preset = "mnist", Data = "mnist", BatchSize = 32, Steps = 5_000, EmaHalfLifeImages = 50_000,
                LearningRate = 3e-4, ScalesStart = 10, ScalesEnd = 320, CheckpointEvery = 250, SampleEvery = 250,
                Network = new UNetConfig
                {
                    ImageSize = 16, InChannels = 1, OutChannels = 1, ModelChannels = 32, ChannelMult = [1, 2],
                    NumResBlocks = 1, AttentionResolutions = [2], NumHeadChannels = 32,
                },
            }),
            ["mixture2d"] = ("2-D Gaussian mixture (8 modes on a circle) with a residual MLP (3 blocks of 256): exact ground truth, minutes", () => new TrainOptions
            {
                Preset = "mixture2d", Data = "mixture:8gaussians", BatchSize = 256, Steps = 4_000, EmaHalfLifeImages = 50_000,
                LearningRate = 1e-3, ScalesStart = 10, ScalesEnd = 320, CheckpointEvery = 1_000, SampleEvery = 0,
                Network = new MlpConfig { Dim = 2, Hidden = 256, Blocks = 3, EmbedChannels = 64 },
            }),
            ["mixture64"] = ("64-D Gaussian mixture (8 random modes) with a residual MLP (4 blocks of 512): exact ground truth in high dimension", () => new TrainOptions
            {
                Preset = "mixture64", Data = "mixture:gmm:64:8", BatchSize = 256, Steps = 4_000, EmaHalfLifeImages = 50_000,
                LearningRate = 1e-3, ScalesStart = 10, ScalesEnd = 320, CheckpointEvery = 1_000, SampleEvery = 0,
                Network = new MlpConfig { Dim = 64, Hidden = 512, Blocks = 4, EmbedChannels = 64 },
            }),
            ["cifar10"] = ("32x32 CIFAR-10, C=128, mult (1,2,2,2), attention at 16x16 (the iCT/NCSN++-sized UNet; GPU)", () => new TrainOptions
            {
                Preset = "cifar10", Data = "cifar10", BatchSize = 512, Steps = 400_000, EmaHalfLifeImages = 500_000, RandomFlip = true,
                Network = new UNetConfig
                {
                    ImageSize = 32, InChannels = 3, OutChannels = 3, ModelChannels = 128, ChannelMult = [1, 2, 2, 2],
                    NumResBlocks = 4, AttentionResolutions = [2], NumHeadChannels = 64, Dropout = 0.3, DropoutHighRes = 0.3,
                },
            }),
            ["cifar10-cpu"] = ("32x32 CIFAR-10, C=32, mult (1,2,2), 1 res block, attention at 8x8: CPU-sized (hours on 2 cores; far from the paper's network)", () => new TrainOptions
            {
                Preset = "cifar10-cpu", Data = "cifar10", BatchSize = 32, Steps = 3_000, EmaHalfLifeImages = 20_000, RandomFlip = true,
                LearningRate = 3e-4, ScalesStart = 10, ScalesEnd = 320, CheckpointEvery = 100, SampleEvery = 250,
                Network = new UNetConfig
                {
                    ImageSize = 32, InChannels = 3, OutChannels = 3, ModelChannels = 32, ChannelMult = [1, 2, 2],
                    NumResBlocks = 1, AttentionResolutions = [4], NumHeadChannels = 32, Dropout = 0.1,
                },
            }),
            ["imagenet64"] = ("the official ImageNet-64 BCM: C=192, mult (1,2,3,4), 3 res blocks, attention at 16 and 8 px, 1000 classes (280 M parameters)", () => new TrainOptions
            {
                Preset = "imagenet64", Data = "folder:imagenet64", BatchSize = 1024, Steps = 800_000, RandomFlip = true,
                EmaHalfLifeImages = 4096 * Math.Log(2) / (1 - 0.99997), FixedScales = 321, // EMA rate 0.99997 at batch 4096
                Network = new UNetConfig
                {
                    ImageSize = 64, InChannels = 3, OutChannels = 3, ModelChannels = 192, ChannelMult = [1, 2, 3, 4],
                    NumResBlocks = 3, AttentionResolutions = [4, 8], NumHeadChannels = 64, NumClasses = 1000,
                    Dropout = 0.0, DropoutHighRes = 0.2,
                },
            }),
        };

    /// <summary>The options of preset <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No such preset.</exception>
    public static TrainOptions Get(string name) =>
        All.TryGetValue(name, out var p) ? p.Create()
            : throw new ArgumentException($"unknown preset '{name}': choose one of {string.Join(", ", All.Keys)}");
}
