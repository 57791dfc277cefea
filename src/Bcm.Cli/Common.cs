using System.CommandLine;
using System.Globalization;
using Bcm.Checkpoints;
using Bcm.Plans;
using Bcm.Training;

namespace Bcm.Cli;

/// <summary>Options shared by every command, and the error handling that turns failures into messages and exit codes.</summary>
internal static class Common
{
    public static readonly Option<string?> Checkpoint = new("--checkpoint", "-c")
    {
        Description = "Checkpoint: a run folder (its newest checkpoint), a bcm .safetensors checkpoint, or an official state_dict (.pt / .safetensors; give --preset for its architecture)",
    };
    public static readonly Option<string?> Out = new("--out", "-o") { Description = "Output folder (created if absent)" };
    public static readonly Option<string?> Preset = new("--preset", "-p") { Description = "Preset: " + string.Join(", ", Presets.All.Keys) };
    public static readonly Option<string?> Data = new("--data", "-d") { Description = "Data: " + Bcm.Data.DataSources.Help };
    public static readonly Option<long> Seed = new("--seed", "-s") { Description = "Seed; results are reproducible and independent of batch size (default 0)", DefaultValueFactory = _ => 0 };
    /// <summary>The classifier whose features score a measurement; its default is found in one place (<see cref="Bcm.Evaluation.EvaluationSet.Open"/>, from <see cref="Bcm.Metrics.Classifier.DefaultPath"/>).</summary>
    public static readonly Option<string?> Classifier = new("--classifier") { Description = "The classifier whose features score the images (bcm classifier); default classifiers/DATA-SIZE.safetensors" };

    /// <summary>--count / -n: how many images, samples or points a command makes or measures (<paramref name="what"/> says which, and its default).</summary>
    public static Option<int> Count(string what, int @default) => new("--count", "-n") { Description = what, DefaultValueFactory = _ => @default };

    /// <summary>--count / -n whose default depends on the model (null: the command's default).</summary>
    public static Option<int?> CountOrDefault(string what) => new("--count", "-n") { Description = what };

    /// <summary>--offset: the index of the first real image a command measures.</summary>
    public static Option<int> Offset(string what = "With --data: index of the first image measured") => new("--offset") { Description = what, DefaultValueFactory = _ => 0 };

    /// <summary>--data / -d of a command that measures on a data set instead of its own inputs (<paramref name="what"/> says what it measures).</summary>
    public static Option<string?> DataToMeasure(string what) => new("--data", "-d") { Description = what + ": " + Bcm.Data.DataSources.Help };

    public static readonly Option<int?> Threads = new("--threads") { Description = "CPU threads for tensor operations (default: all cores)" };
    /// <summary>The engine that runs the network forward: libtorch, or ONNX Runtime over the network's ONNX graph.</summary>
    public static readonly Option<string> Engine = EngineOption();

    private static Option<string> EngineOption()
    {
        var option = new Option<string>("--engine")
        {
            Description = "torch (libtorch) or onnx (ONNX Runtime on the CPU: the network is written as an ONNX graph when the model loads; " +
                          "outputs equal libtorch's within 1e-5 of their scale). Not given: the engine bcm bench --onnx measured faster for this network " +
                          "and thread count on this machine, else torch",
            DefaultValueFactory = _ => "torch",
        };
        option.AcceptOnlyFromAmong("torch", "onnx");
        return option;
    }

    public static readonly Option<string> Device = new("--device") { Description = "cpu, cuda or cuda:N (default cpu)", DefaultValueFactory = _ => "cpu" };

    /// <summary>Commands that split their work over the ranks of <c>mpirun -np N</c>.</summary>
    public static readonly string[] Distributed = ["train", "sample", "eval", "restore"];

    /// <summary>
    /// Runs a command body; known errors become one-line messages and exit code 2, never a stack trace. Under MPI an
    /// error on any rank stops the whole job (the other ranks would wait for it forever).
    /// </summary>
    public static int Guard(Func<int> body)
    {
        int code = Run(body);
        if (code != 0 && code != 130 && code != 143 && Bcm.Distributed.World.Started is { } job) job.Abort(code);
        return code;
    }

    private static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (BadInputException.Is(e))
        {
            Console.Error.WriteLine($"bcm: error: {RankPrefix}{e.Message}");
            return 2;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"bcm: error: {e.Message}{(IsDiskFull(e) ? " (the disk is full: free space and run again; earlier outputs and checkpoints are intact)" : "")}");
            return 3;
        }
        catch (UnauthorizedAccessException e)
        {
            Console.Error.WriteLine($"bcm: error: {e.Message}");
            return 3;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("BCM_DEBUG") is not ("1" or "true"))
        {
            // A bug, not bad input: one line, and how to get the details for a report.
            Console.Error.WriteLine($"bcm: internal error ({e.GetType().Name}): {e.Message} — please report it; run with BCM_DEBUG=1 for the stack trace");
            return 1;
        }
    }

    // Which rank said it, when several run.
    private static string RankPrefix => Bcm.Distributed.World.LaunchedSize > 1 ? $"[rank {Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_RANK")}] " : "";

    private static bool IsDiskFull(IOException e) => (e.HResult & 0xFFFF) == 28 || e.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase);

    /// <summary>The most --threads accepted (libgomp aborts on absurd counts).</summary>
    public const int MaxThreads = 1024;

    /// <summary>Applies --threads when given.</summary>
    public static void ApplyThreads(System.CommandLine.ParseResult parse)
    {
        if (parse.GetValue(Threads) is int n)
        {
            if (n < 1) throw new BadInputException("--threads must be ≥ 1");
            if (n > MaxThreads) throw new BadInputException($"--threads {n}: at most {MaxThreads} (this machine has {Environment.ProcessorCount} logical cores)");
            if (n > Environment.ProcessorCount)
                Console.Error.WriteLine($"bcm: warning: --threads {n} is more than the {Environment.ProcessorCount} logical cores; libtorch's threads spin, so this is slower");
            TorchSharp.torch.set_num_threads(n);
        }
    }

    public static TorchSharp.torch.Device ParseDevice(string device)
    {
        if (device is not ("cpu" or "cuda") && !device.StartsWith("cuda:", StringComparison.Ordinal))
            throw new BadInputException($"--device must be cpu, cuda or cuda:N, got '{device}'");
        if (device.StartsWith("cuda", StringComparison.Ordinal) && !TorchSharp.torch.cuda.is_available())
            throw new BadInputException("--device cuda: CUDA is not available in this build (it uses the CPU libtorch)");
        return new TorchSharp.torch.Device(device);
    }

    public static readonly Option<string> Weights = new Option<string>("--weights")
    {
        Description = "Of a bcm training checkpoint: ema (the evaluation model) or online (the weights being trained)",
        DefaultValueFactory = _ => "ema",
    }.AcceptOnlyFromAmong("ema", "online");

    public static ModelLoader.Loaded LoadModel(string? checkpoint, string? preset, string device, bool ema = true)
    {
        if (checkpoint is null) throw new BadInputException("--checkpoint is required: a run folder or a checkpoint file");
        return ModelLoader.Load(checkpoint, preset, useEma: ema, device: ParseDevice(device));
    }

    /// <summary>The model of --checkpoint, --preset, --device and --weights.</summary>
    public static ModelLoader.Loaded LoadModel(System.CommandLine.ParseResult parse)
    {
        var loaded = LoadModel(parse.GetValue(Checkpoint), parse.GetValue(Preset), parse.GetValue(Device)!, parse.GetValue(Weights) != "online");
        return OnEngine(parse, loaded);
    }

    /// <summary>The loaded model on the engine --engine names (where the command has the option; libtorch otherwise).</summary>
    public static ModelLoader.Loaded OnEngine(System.CommandLine.ParseResult parse, ModelLoader.Loaded loaded)
    {
        if (parse.GetResult(Engine) is not { } given) return loaded; // the command runs on libtorch only
        if (!given.Implicit) return parse.GetValue(Engine) == "onnx" ? OnOnnxRuntime(loaded) : loaded;
        // Not given: the engine bcm bench --onnx measured faster for this network at this thread count, else libtorch.
        int threads = TorchSharp.torch.get_num_threads();
        if (loaded.Model.Device.type != TorchSharp.DeviceType.CPU || Bcm.Onnx.EngineChoice.Ratio(loaded.Config, threads) is not double ratio) return loaded;
        if (ratio < Bcm.Onnx.EngineChoice.Margin)
        {
            Console.Error.WriteLine($"engine: libtorch (bcm bench measured ONNX Runtime at {ratio:F2}× its rate for this network at {threads} threads)");
            return loaded;
        }
        Console.Error.WriteLine($"engine: ONNX Runtime chosen by measurement (bcm bench: {ratio:F2}× libtorch's rate for this network at {threads} threads " +
                                $"on this machine, {Bcm.Onnx.EngineChoice.CachePath}); --engine torch runs libtorch");
        return OnOnnxRuntime(loaded);
    }

    // The loaded model with its network run by ONNX Runtime (the scalings and every plan unchanged), or, where ONNX
    // Runtime cannot load on this machine, the libtorch model with a message.
    private static ModelLoader.Loaded OnOnnxRuntime(ModelLoader.Loaded loaded)
    {
        if (loaded.Model.Device.type != TorchSharp.DeviceType.CPU)
            throw new BadInputException("--engine onnx runs on the CPU here (ONNX Runtime's CUDA provider is the Microsoft.ML.OnnxRuntime.Gpu package): leave out --device or --engine");
        try
        {
            var network = Bcm.Onnx.OnnxNetwork.From(loaded.Model.Network, TorchSharp.torch.get_num_threads());
            var model = new Bcm.Model.BcmModel(network, loaded.Model.SigmaData, loaded.Model.SigmaMin, loaded.Model.SigmaMax);
            loaded.Model.Dispose();
            Console.Error.WriteLine($"engine: ONNX Runtime (CPU, {TorchSharp.torch.get_num_threads()} threads)");
            return loaded with { Model = model };
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            Console.Error.WriteLine($"bcm: warning: ONNX Runtime cannot run here ({e.Message}); running on libtorch instead");
            return loaded;
        }
    }

    /// <summary>The model of a command that works on images (inversion and editing), refusing vector models.</summary>
    public static ModelLoader.Loaded LoadImageModel(System.CommandLine.ParseResult parse)
    {
        var loaded = LoadModel(parse);
        if (loaded.Config.SampleShape.Length != 3)
            throw new BadInputException($"{loaded.Source} makes {loaded.Config.SampleShape[0]}-dimensional vectors; this command works on image models (for vector models use bcm sample and bcm eval)");
        return loaded;
    }

    /// <summary>The one class label a conditional model needs (null for an unconditional model), checked against its classes.</summary>
    public static TorchSharp.torch.Tensor? SingleLabel(System.CommandLine.ParseResult parse, Option<string?> option, Training.ModelLoader.Loaded loaded, TorchSharp.torch.Device device)
    {
        int classes = loaded.Model.Network.NumClasses;
        string? text = parse.GetValue(option);
        if (classes == 0)
        {
            if (text is not null) throw new BadInputException("--class given, but the model is unconditional");
            return null;
        }
        if (text is null) throw new BadInputException("the model is class-conditional: give --class (a class name or index)");
        int c = Training.TrainOptions.ClassLabel(text, loaded.Options?.ClassNames, classes);
        return TorchSharp.torch.tensor(new long[] { c }, device: device);
    }

    /// <summary>The output folder (--out, else the command's default), created unless <paramref name="create"/> is false (ranks other than 0 write nothing there).</summary>
    public static string OutDir(string? @out, string fallback, bool create = true)
    {
        string dir = @out ?? fallback;
        if (create) Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>A comma-separated list of integers in <paramref name="min"/>..<paramref name="max"/> (an empty entry is an error).</summary>
    public static int[] Integers(string text, string option, int min, int max) =>
        text.Split(',', StringSplitOptions.TrimEntries)
            .Select(v => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) && i >= min && i <= max ? i
                : throw new BadInputException($"{option} '{v}': expected integers in {min}..{max}, separated by commas"))
            .ToArray();

    /// <summary>Finite numbers separated by commas (empty entries skipped), each in [min, max] when a bound is given.</summary>
    public static double[] Numbers(string text, string option, double min = double.MinValue, double max = double.MaxValue) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && d >= min && d <= max ? d
                : throw new BadInputException($"{option} '{v}': expected numbers{(min > double.MinValue || max < double.MaxValue ? $" in {min}..{max}" : "")}, separated by commas"))
            .ToArray();

    public static string F(double v, string format = "g4") => v.ToString(format, CultureInfo.InvariantCulture);
}
