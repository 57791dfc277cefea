using System.CommandLine;
using Bcm.Checkpoints;
using Bcm.Training;

namespace Bcm.Cli;

/// <summary><c>bcm info</c>: what a checkpoint holds.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("checkpoint") { Description = "A checkpoint (.safetensors or .pt) or a run folder" };
        var cmd = new Command("info", "Show what a checkpoint holds: kind, step, architecture, options, tensors and parameter count.") { path, Common.Preset };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            string p = parse.GetValue(path)!;
            if (Directory.Exists(p))
                p = TrainingCheckpoint.List(p).LastOrDefault().Path ?? throw new CliError($"{p}: no checkpoints in this folder");
            if (!File.Exists(p)) throw new CliError($"{p}: no such file");
            Console.WriteLine($"file: {Path.GetFullPath(p)} ({new FileInfo(p).Length:N0} bytes)");
            if (p.EndsWith(".pt", StringComparison.OrdinalIgnoreCase) || p.EndsWith(".pth", StringComparison.OrdinalIgnoreCase))
            {
                var tensors = TorchPickleReader.Load(p);
                Console.WriteLine($"kind: PyTorch state_dict (torch.save zip), {tensors.Count} tensors, {tensors.Values.Sum(t => t.numel()):N0} numbers");
                foreach (var (k, t) in tensors.Take(12)) Console.WriteLine($"  {k} {StateDict.Shape(t)} {t.dtype}");
                if (tensors.Count > 12) Console.WriteLine($"  … {tensors.Count - 12} more");
                foreach (var t in tensors.Values) t.Dispose();
                return 0;
            }
            var (entries, meta) = SafeTensors.Inspect(p);
            if (meta.TryGetValue("format", out var f) && f == TrainingCheckpoint.Format)
            {
                var options = TrainingCheckpoint.ReadOptions(meta, p);
                long parameters = entries.Where(e => e.Key.StartsWith("online.")).Sum(e => e.Value.Shape.Aggregate(1L, (a, b) => a * b));
                Console.WriteLine($"kind: bcm training checkpoint, step {meta["step"]} of {options.Steps}, optimiser step {meta["optimizer_step"]}, seed {meta["seed"]}");
                Console.WriteLine($"parameters: {parameters:N0} (online, EMA and RAdam state stored)");
                Console.WriteLine($"options:\n{options.ToJson()}");
            }
            else
            {
                Console.WriteLine($"kind: safetensors state_dict, {entries.Count} tensors, {entries.Values.Sum(e => e.Shape.Aggregate(1L, (a, b) => a * b)):N0} numbers");
                foreach (var (k, v) in meta) Console.WriteLine($"  metadata {k} = {v}");
                foreach (var (k, e) in entries.Take(12)) Console.WriteLine($"  {k} [{string.Join(", ", e.Shape)}] {e.DType}");
                if (entries.Count > 12) Console.WriteLine($"  … {entries.Count - 12} more");
            }
            return 0;
        }));
        return cmd;
    }
}
