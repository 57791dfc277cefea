using static TorchSharp.torch;

namespace Bcm.Networks;

/// <summary>
/// The raw network F_θ(x_in, c_noise(t), c_noise(u), y) of a BCM: it knows nothing of the scalings, so the
/// official weights load into it alone and any network (UNet, MLP) can be wrapped by <see cref="Model.BcmModel"/>.
/// </summary>
public interface IBcmNetwork
{
    /// <summary>Shape of one sample, e.g. [C, H, W] for images or [d] for vectors.</summary>
    long[] SampleShape { get; }

    /// <summary>Number of classes for conditional networks, 0 when unconditional.</summary>
    int NumClasses { get; }

    /// <summary>F_θ on a batch: <paramref name="x"/> already scaled by c_in, noise conditions of shape [B].</summary>
    Tensor Forward(Tensor x, Tensor cNoiseT, Tensor cNoiseU, Tensor? y);

    /// <summary>The module that owns the parameters (for optimisers, state dicts, train/eval mode).</summary>
    TorchSharp.torch.nn.Module Module { get; }

    /// <summary>
    /// SHA-256 of the weights' values (<see cref="Tensors.TensorFingerprint"/> of the module's state dict): the same for a
    /// network and for that network run by another engine, so that a saved measurement resumes only with its weights.
    /// </summary>
    string WeightsFingerprint => Tensors.TensorFingerprint.Of(Module.state_dict().Values);

    /// <summary>Multiply-accumulates of one forward pass for one sample (for throughput figures).</summary>
    long MacsPerSample { get; }

    /// <summary>
    /// Numbers at the blocks' inputs and outputs (and the attention maps) of one forward pass for one sample: a measure of
    /// the activations a training step keeps for its backward pass, from which memory is estimated before it is
    /// allocated; 0 where a network does not say.
    /// </summary>
    long ActivationsPerSample => 0;

    /// <summary>
    /// Writes F_θ as a graph of ONNX operators into <paramref name="graph"/>, on the values named <paramref name="x"/>
    /// (already scaled by c_in), <paramref name="cNoiseT"/>, <paramref name="cNoiseU"/> and <paramref name="y"/>
    /// (int64 class labels, or null); returns the name of its output. Eval mode: dropout is the identity.
    /// </summary>
    /// <exception cref="NotSupportedException">The network has no graph form.</exception>
    string WriteGraph(IGraphWriter graph, string x, string cNoiseT, string cNoiseU, string? y) =>
        throw new NotSupportedException($"{GetType().Name} cannot be written as an ONNX graph");

    /// <summary>Configuration serialisable to JSON, from which <see cref="NetworkFactory"/> rebuilds the network.</summary>
    NetworkConfig Config { get; }

    /// <summary>
    /// Makes the network ignore u: the u embedding becomes a copy of the t embedding and the align projection [I | 0]
    /// (method §4: fine-tuning from a consistency model, or from a denoiser trained with u unused).
    /// </summary>
    void InitialiseFromConsistencyModel();

    /// <summary>True for the parameters that act only through u (absent from a consistency model's checkpoint).</summary>
    bool IsUParameter(string name);
}
