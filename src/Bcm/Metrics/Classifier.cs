using System.Globalization;
using System.Security.Cryptography;
using Bcm.Checkpoints;
using Bcm.Data;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Bcm.Metrics;

/// <summary>
/// A LeNet-like classifier (two 3×3 conv + max-pool stages of 32 and 64 channels, a 128-unit hidden layer) trained in
/// the project on MNIST or Fashion-MNIST at the models' image size. Its 128 hidden activations are the features of FID,
/// KID and precision/recall; its predictions give class coverage. Saved as safetensors with its metadata; reports quote
/// its SHA-256 so numbers are tied to one classifier.
/// </summary>
public sealed class Classifier : Module<Tensor, Tensor>
{
    /// <summary>The metadata format name of a saved classifier.</summary>
    public const string Format = "bcm-classifier-1";
    /// <summary>Width of the feature layer (FID, KID and precision/recall are computed on it).</summary>
    public const int FeatureDim = 128;
    private readonly Conv2d conv1, conv2;
    private readonly Linear fc1, fc2;

    /// <summary>A fresh classifier of <paramref name="channels"/>×<paramref name="size"/>² images into <paramref name="classes"/> classes.</summary>
    /// <exception cref="ArgumentException">The size is not a positive multiple of 4.</exception>
    public Classifier(int channels, int size, int classes) : base(nameof(Classifier))
    {
        if (size % 4 != 0 || size < 4) throw new ArgumentException($"classifier image size must be a multiple of 4, got {size}");
        Channels = channels;
        Size = size;
        Classes = classes;
        conv1 = Conv2d(channels, 32, 3, padding: 1);
        conv2 = Conv2d(32, 64, 3, padding: 1);
        fc1 = Linear(64L * (size / 4) * (size / 4), FeatureDim);
        fc2 = Linear(FeatureDim, classes);
        RegisterComponents();
    }

    /// <summary>Channels of the images it takes.</summary>
    public int Channels { get; }
    /// <summary>Height and width of the images it takes.</summary>
    public int Size { get; }
    /// <summary>Number of classes it predicts.</summary>
    public int Classes { get; }
    /// <summary>Metadata of a loaded classifier: data set, test accuracy, SHA-256 of its file.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; private set; } = new Dictionary<string, string>();

    /// <summary>The 128 hidden activations (after ReLU) for images in [−1, 1].</summary>
    public Tensor Features(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = functional.max_pool2d(functional.relu(conv1.forward(x)), 2);
        h = functional.max_pool2d(functional.relu(conv2.forward(h)), 2);
        return functional.relu(fc1.forward(h.flatten(1))).MoveToOuterDisposeScope();
    }

    /// <summary>Class logits for images in [−1, 1].</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return fc2.forward(Features(x)).MoveToOuterDisposeScope();
    }

    /// <summary>Features and predicted classes of a batch of images (any count; evaluated in chunks without gradients).</summary>
    public (double[] Features, int[] Predictions) Embed(Tensor images, int chunk = 500)
    {
        if (images.shape[1] != Channels || images.shape[2] != Size || images.shape[3] != Size)
            throw new ArgumentException($"the classifier takes {Channels}x{Size}x{Size} images, got [{string.Join(", ", images.shape.Skip(1))}]");
        eval();
        using var _ = no_grad();
        var device = conv1.weight!.device;
        var features = new List<double>();
        var predictions = new List<int>();
        for (long start = 0; start < images.shape[0]; start += chunk)
        {
            using var scope = NewDisposeScope();
            var x = images[TensorIndex.Slice(start, Math.Min(start + chunk, images.shape[0]))].to(device);
            var f = Features(x);
            features.AddRange(f.to(ScalarType.Float64).cpu().data<double>().ToArray());
            predictions.AddRange(fc2.forward(f).argmax(1).cpu().data<long>().ToArray().Select(v => (int)v));
        }
        return (features.ToArray(), predictions.ToArray());
    }

    /// <summary>
    /// Trains a classifier with Adam (lr 1e-3, batch 128) for <paramref name="epochs"/> epochs; reports the accuracy on
    /// <paramref name="test"/> after each, or on the training images when there is no test set (and says so).
    /// </summary>
    public static Classifier Train(ImageDataset train, ImageDataset? test, int size, int epochs, long seed, IProgress<string>? log = null)
    {
        if (train.Labels is null) throw new ArgumentException($"{train.Name} has no labels: a classifier needs a labelled data set");
        manual_seed(seed);
        var net = new Classifier(train.Channels, size, train.NumClasses);
        var optimiser = optim.Adam(net.parameters(), 1e-3);
        var rng = new Random((int)seed);
        const int batch = 128;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            net.train();
            var order = Enumerable.Range(0, train.Count).ToArray();
            rng.Shuffle(order);
            double lossSum = 0;
            int steps = 0;
            for (int start = 0; start + batch <= order.Length; start += batch)
            {
                using var scope = NewDisposeScope();
                var idx = order[start..(start + batch)];
                var x = train.Batch(idx, size);
                var y = train.LabelBatch(idx)!;
                optimiser.zero_grad();
                var loss = functional.cross_entropy(net.forward(x), y);
                loss.backward();
                optimiser.step();
                lossSum += loss.item<float>();
                steps++;
            }
            double acc = net.Accuracy(test ?? train, size);
            log?.Report($"epoch {epoch + 1}/{epochs}: loss {lossSum / steps:F4}, {(test is null ? "training" : "test")} accuracy {acc:P2}");
        }
        return net;
    }

    /// <summary>Share of correctly classified images of a labelled set.</summary>
    public double Accuracy(ImageDataset set, int size)
    {
        if (set.Labels is null) throw new ArgumentException($"{set.Name} has no labels");
        using var images = set.Batch(Enumerable.Range(0, set.Count).ToArray(), size);
        var (_, predictions) = Embed(images);
        return predictions.Where((p, i) => p == set.Labels[i]).Count() / (double)set.Count;
    }

    /// <summary>Writes the classifier and its metadata (atomically); returns the file's SHA-256.</summary>
    /// <summary>Saves the weights with their metadata; the accuracy is stored as <c>test_accuracy</c> when measured on held-out images, else as <c>training_accuracy</c>.</summary>
    public string Save(string path, string data, double accuracy, bool heldOut, int epochs, long seed)
    {
        var meta = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["channels"] = Channels.ToString(CultureInfo.InvariantCulture),
            ["image_size"] = Size.ToString(CultureInfo.InvariantCulture),
            ["num_classes"] = Classes.ToString(CultureInfo.InvariantCulture),
            ["data"] = data,
            [heldOut ? "test_accuracy" : "training_accuracy"] = accuracy.ToString("R", CultureInfo.InvariantCulture),
            ["epochs"] = epochs.ToString(CultureInfo.InvariantCulture),
            ["seed"] = seed.ToString(CultureInfo.InvariantCulture),
        };
        SafeTensors.Save(path, StateDict.Get(this), meta);
        return Sha256(path);
    }

    /// <summary>Where <c>bcm classifier</c> saves, and <c>bcm eval</c> looks for, the classifier of a data spec at an image size: classifiers/KIND-SIZE.safetensors.</summary>
    public static string DefaultPath(string dataSpec, int size) => Path.Combine("classifiers", $"{DataSources.Kind(dataSpec)}-{size}.safetensors");

    /// <summary>Loads a classifier saved by <see cref="Save"/>, with its metadata and SHA-256.</summary>
    /// <exception cref="CheckpointException">The file is missing or is not a bcm classifier.</exception>
    public static Classifier Load(string path, Device? device = null)
    {
        if (!File.Exists(path)) throw new CheckpointException($"{path}: no such classifier (make one with: bcm classifier --data mnist -o {path})");
        var (tensors, meta) = SafeTensors.Load(path);
        try
        {
            if (!meta.TryGetValue("format", out var format) || format != Format)
                throw new CheckpointException($"{path}: not a bcm classifier (format '{format}')");
            var net = new Classifier(Checkpoints.Metadata.Int(meta, "channels", path, 1, 4), Checkpoints.Metadata.Int(meta, "image_size", path, 4, 256),
                Checkpoints.Metadata.Int(meta, "num_classes", path, 2, 1000));
            StateDict.Load(net, tensors, path);
            if (device is not null) net.to(device);
            net.eval();
            var withHash = new Dictionary<string, string>(meta) { ["sha256"] = Sha256(path) };
            net.Metadata = withHash;
            return net;
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>The SHA-256 of a file, as lower-case hex.</summary>
    public static string Sha256(string path)
    {
        using var stream = IO.InputFile.OpenRead(path, "classifier");
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
