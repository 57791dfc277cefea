using Bcm.Networks;

namespace Bcm.Training;

/// <summary>
/// The memory of one training step on the CPU, estimated from the network's layers before any of it is allocated, so
/// that a batch far beyond the machine is refused with a message instead of reaching libtorch's allocator (which fails
/// with a native error, or with the kernel's OOM killer).
/// </summary>
/// <remarks>
/// A step keeps the activations of its forward passes for backward: about 8 numbers per
/// <see cref="IBcmNetwork.ActivationsPerSample"/> for BCT (the online network twice, the target once) and 2.5 for an
/// objective with one differentiated pass (EDM, the CT term alone), as measured by peak resident memory over batch
/// sizes on the tiny and digits presets (1.63 and 2.17 MB a sample for BCT, estimated 1.52 and 1.97; 0.55 for EDM,
/// estimated 0.48). Weights, gradients, the EMA and target copies and RAdam's two moments add six copies of the parameters.
/// </remarks>
public static class StepMemory
{
    /// <summary>Bytes one training step needs on one process at <paramref name="batchPerProcess"/> images.</summary>
    public static long Estimate(IBcmNetwork network, TrainOptions options, int batchPerProcess)
    {
        double numbersPerActivation = ModelKinds.Of(options) != ModelKind.Bcm ? 2.5 : 8;
        long parameters = network.Module.parameters().Sum(p => p.numel());
        return (long)(4 * (numbersPerActivation * network.ActivationsPerSample * batchPerProcess + 6.0 * parameters));
    }

    /// <summary>The memory this process may use: the machine's physical memory, or a container's limit.</summary>
    public static long Available => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>Refuses a batch whose step needs more memory than the machine has, with the estimate and the largest batch that fits.</summary>
    /// <exception cref="ArgumentException">The estimate exceeds <see cref="Available"/>.</exception>
    public static void Check(IBcmNetwork network, TrainOptions options, int processes)
    {
        int batch = options.BatchSize / processes;
        long need = Estimate(network, options, batch), have = Available;
        if (need <= have || network.ActivationsPerSample == 0) return;
        long perImage = Math.Max(1, Estimate(network, options, 1) - Estimate(network, options, 0));
        long fits = Math.Max(0, (long)(0.8 * have - Estimate(network, options, 0)) / perImage) * processes;
        throw new ArgumentException($"batch size {options.BatchSize:N0} needs about {Gb(need)} for one training step ({batch:N0} images a process, estimated from the " +
                                    $"network's activations), and this machine has {Gb(have)}: give a --batch-size of at most about {fits:N0}" +
                                    (processes == 1 ? ", or spread the batch over processes with mpirun" : ""));
    }

    private static string Gb(long bytes) => $"{bytes / 1e9:N1} GB";
}
