using System.Runtime.InteropServices;

namespace Bcm.Cli;

/// <summary>
/// libtorch's C++ log: on CPUs NNPACK does not support it warns "Could not initialize NNPACK!" at every convolution,
/// hundreds of lines per command. Its level (c10's FLAGS_caffe2_log_level, which only PyTorch's Python start-up reads
/// from TORCH_CPP_LOG_LEVEL) is raised to errors here; BCM_TORCH_WARNINGS=1 keeps the warnings.
/// </summary>
internal static class NativeWarnings
{
    private const int Error = 2; // c10 severities: INFO 0, WARNING 1, ERROR 2, FATAL 3

    public static void Quiet()
    {
        if (Environment.GetEnvironmentVariable("BCM_TORCH_WARNINGS") is "1" or "true") return;
        try
        {
            _ = TorchSharp.torch.get_num_threads(); // loads libtorch, and with it c10
            string c10 = OperatingSystem.IsWindows() ? "c10.dll" : OperatingSystem.IsMacOS() ? "libc10.dylib" : "libc10.so";
            if (NativeLibrary.TryLoad(c10, typeof(TorchSharp.torch).Assembly, null, out var handle)
                && NativeLibrary.TryGetExport(handle, "FLAGS_caffe2_log_level", out var level))
                Marshal.WriteInt32(level, Math.Max(Marshal.ReadInt32(level), Error));
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or BadImageFormatException)
        {
            // No libtorch (a broken install): the command itself reports that.
        }
    }
}
