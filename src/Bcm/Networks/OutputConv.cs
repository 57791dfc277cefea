using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Bcm.Networks;

/// <summary>
/// The UNet's last 3x3 convolution (to the image's 1 or 3 channels), with the parameters and state_dict keys of a
/// Conv2d (<c>weight</c>, <c>bias</c>). On the CPU it computes 16·⌈C_out/16⌉ channels with zero weights and keeps the
/// first C_out: oneDNN 3.7 in libtorch 2.10 returns wrong, sometimes NaN, input gradients for a convolution whose
/// output channels are not a multiple of 16 when its weight needs no gradient (the frozen target network of the BCT
/// soft term), seen on AMD Zen 5 with its AVX-512 and AVX2 kernels. The extra channels are exact zeros, so the
/// output and every gradient are those of the plain convolution; the cost is one small convolution.
/// </summary>
internal sealed class OutputConv : Module<Tensor, Tensor>
{
    private const int Block = 16;
    private readonly Parameter weight;
    private readonly Parameter bias;

    public OutputConv(long inChannels, long outChannels) : base(nameof(OutputConv))
    {
        // The initialisation of a Conv2d of the same shape (the UNet zeroes it anyway, as the official code does).
        using var conv = Conv2d(inChannels, outChannels, 3, padding: 1);
        weight = new Parameter(conv.weight!.detach().clone());
        bias = new Parameter(conv.bias!.detach().clone());
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        long outChannels = weight.shape[0];
        long pad = (Block - outChannels % Block) % Block;
        if (pad == 0 || x.device.type != DeviceType.CPU)
            return functional.conv2d(x, weight, bias, padding: [1, 1]);
        using var scope = NewDisposeScope();
        var w = cat([weight, zeros([pad, .. weight.shape[1..]], dtype: weight.dtype, device: weight.device)], 0);
        var b = cat([bias, zeros(pad, dtype: bias.dtype, device: bias.device)], 0);
        return functional.conv2d(x, w, b, padding: [1, 1])[.., ..(int)outChannels].MoveToOuterDisposeScope();
    }
}
