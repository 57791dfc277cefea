// TorchSharp 0.107 turns a .NET number in `tensor * 0.5` into a Scalar that no dispose scope tracks and whose native
// handle only its finalizer frees. The operator passes scalar.Handle to libtorch and keeps no reference to the Scalar,
// so a GC started by ANOTHER thread during the native call may finalize it while libtorch still reads it: libtorch
// then sees a freed c10::Scalar ("Expected false to be true ... toFloat at Scalar.h:140") or worse. Single-threaded
// programs did not fail in millions of operations; with one allocating thread beside them, they fail within seconds.
//   dotnet run -c Release -- 30          # no other thread: 0 wrong
//   dotnet run -c Release -- 30 noise    # another thread allocating: an exception (or a wrong value) within seconds
using static TorchSharp.torch;

bool stop = false;
var noise = new Thread(() => { while (!Volatile.Read(ref stop)) GC.KeepAlive(new byte[200_000]); });
if (args.Length > 1) noise.Start();
long n = 0, wrong = 0;
var clock = System.Diagnostics.Stopwatch.StartNew();
using var x = ones(64, 64);
while (clock.Elapsed < TimeSpan.FromSeconds(args.Length > 0 ? double.Parse(args[0]) : 10))
{
    using var scope = NewDisposeScope();
    for (int i = 0; i < 100; i++, n++)
    {
        double h = 0.5 + i;
        var y = x * h + 0.25; // two implicit Scalars
        if (Math.Abs(y[0, 0].item<float>() - (h + 0.25)) > 1e-3) wrong++;
    }
}
Volatile.Write(ref stop, true);
Console.WriteLine($"{n} operations, {wrong} wrong");
