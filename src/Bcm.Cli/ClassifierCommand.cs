using System.CommandLine;
using Bcm.Data;
using Bcm.Metrics;

namespace Bcm.Cli;

/// <summary><c>bcm classifier</c>: trains the LeNet-like feature network of the image metrics.</summary>
internal static class ClassifierCommand
{
    public static Command Create()
    {
        var size = new Option<int>("--size") { Description = "Image size the classifier sees (the models' size; default 16)", DefaultValueFactory = _ => 16 };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs (default 3)", DefaultValueFactory = _ => 3 };
        var cmd = new Command("classifier", "Train the small classifier whose features give FID, KID and precision/recall and whose predictions give class " +
                                            "coverage in bcm eval. Prints its test accuracy and SHA-256 (quote both with any number measured with it).")
        {
            Common.Data, size, epochs, Common.Out, Common.Seed, Common.Threads,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            string data = parse.GetValue(Common.Data) ?? "mnist";
            int s = parse.GetValue(size), e = parse.GetValue(epochs);
            if (e < 1) throw new BadInputException("--epochs must be ≥ 1");
            var printer = new ProgressPrinter();
            var train = DataSources.Load(data, 1, s, printer);
            var test = DataSources.LoadTest(data, train.Channels, s, printer);
            if (test is null)
                Console.WriteLine($"{data} has no test split: the accuracy below is on the training images, not held out");
            string path = parse.GetValue(Common.Out) ?? Classifier.DefaultPath(data, s);
            if (Path.GetDirectoryName(Path.GetFullPath(path)) is string dir) Directory.CreateDirectory(dir);
            using var net = Classifier.Train(train, test, s, e, parse.GetValue(Common.Seed), printer);
            double accuracy = net.Accuracy(test ?? train, s);
            string hash = net.Save(path, data, accuracy, test is not null, e, parse.GetValue(Common.Seed));
            Console.WriteLine($"classifier → {Path.GetFullPath(path)}: {(test is null ? "training" : "test")} accuracy {accuracy:P2} on {(test ?? train).Count} images; sha256 {hash}");
            return 0;
        }));
        return cmd;
    }
}
