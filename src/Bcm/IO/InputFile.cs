using System.Runtime.InteropServices;
using System.Text;

namespace Bcm.IO;

/// <summary>
/// Files handed to the tool as input. Only regular files are read: a FIFO never delivers its end and opening it blocks,
/// and a device such as <c>/dev/zero</c> reports a length of 0 and then never ends, so both are refused before a byte is
/// read. Every read is bounded by a cap the caller derives from what its format can legitimately hold, counted on the
/// bytes actually read (or inflated), never on the length the file system reports.
/// </summary>
public static class InputFile
{
    /// <summary>Refuses anything at <paramref name="path"/> that is not an existing regular file (links are followed).</summary>
    /// <param name="path">The file.</param>
    /// <param name="what">What the file was given as, for the message (e.g. <c>checkpoint</c>).</param>
    /// <exception cref="FileNotFoundException">Nothing is there.</exception>
    /// <exception cref="InvalidDataException">A directory, FIFO, socket or device is there.</exception>
    public static void RequireRegular(string path, string what = "input file")
    {
        if (Directory.Exists(path)) throw new InvalidDataException($"{path}: a folder, not a {what}");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file (expected a {what})");
        if (Kind(path) is string kind)
            throw new InvalidDataException($"{path}: a {kind}, not a regular file; a {what} must be a regular file (a {kind} can block or never end)");
    }

    /// <summary>Opens a regular file for reading (see <see cref="RequireRegular"/>).</summary>
    public static FileStream OpenRead(string path, string what = "input file")
    {
        RequireRegular(path, what);
        return File.OpenRead(path);
    }

    /// <summary>Every byte of a regular file, refusing it once more than <paramref name="maxBytes"/> have been read.</summary>
    public static byte[] ReadAllBytes(string path, long maxBytes, string what = "input file")
    {
        using var stream = OpenRead(path, what);
        return ReadAll(stream, maxBytes, path, what);
    }

    /// <summary>A regular file as UTF-8 text, refusing it once more than <paramref name="maxBytes"/> have been read.</summary>
    public static string ReadAllText(string path, long maxBytes, string what = "input file") =>
        Encoding.UTF8.GetString(ReadAllBytes(path, maxBytes, what));

    /// <summary>
    /// Every byte of <paramref name="stream"/> (e.g. a decompressing stream), refusing it once more than
    /// <paramref name="maxBytes"/> have come out: memory grows with the bytes actually produced, never past the cap.
    /// </summary>
    /// <exception cref="InvalidDataException">The stream holds more than <paramref name="maxBytes"/>.</exception>
    public static byte[] ReadAll(Stream stream, long maxBytes, string path, string what = "input file")
    {
        using var bounded = new BoundedStream(stream, maxBytes, path, what);
        using var buffer = new MemoryStream();
        bounded.CopyTo(buffer);
        return buffer.ToArray();
    }

    /// <summary>True for the error of a read stopped at its cap (so that a caller wrapping decoder errors passes it on as it is).</summary>
    public static bool IsOverCap(Exception e) => e.Data.Contains(CapKey);

    private const string CapKey = "bcm.input-cap";

    /// <summary>A read-only view of <paramref name="inner"/> that throws <see cref="InvalidDataException"/> once more than <paramref name="maxBytes"/> are read through it.</summary>
    public static Stream Bounded(Stream inner, long maxBytes, string path, string what = "input file") => new BoundedStream(inner, maxBytes, path, what);

    // The kind of a non-regular file at path ("FIFO", "device", ...), or null for a regular file or where the platform
    // cannot tell (Windows has no FIFOs or device files in the file system).
    private static string? Kind(string path)
    {
        if (OperatingSystem.IsWindows()) return null;
        var status = new byte[StatusBytes];
        try
        {
            if (Stat(path, status) != 0) return null; // vanished or unreadable: the open that follows says so
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
        int type = BitConverter.ToInt32(status, ModeOffset) & TypeMask;
        return type switch
        {
            TypeRegular => null,
            TypeFifo => "FIFO (named pipe)",
            TypeCharDevice or TypeBlockDevice => "device",
            TypeSocket => "socket",
            TypeDirectory => "folder",
            _ => "special file",
        };
    }

    // .NET's own portable stat (System.Native's FileStatus: Flags, Mode, …), the same on every Unix and architecture,
    // with its own file-type constants; a generous buffer for the struct.
    private const int StatusBytes = 256, ModeOffset = 4, TypeMask = 0xF000;
    private const int TypeFifo = 0x1000, TypeCharDevice = 0x2000, TypeDirectory = 0x4000, TypeBlockDevice = 0x6000, TypeRegular = 0x8000, TypeSocket = 0xC000;

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false)]
    private static extern int Stat(string path, [Out] byte[] status);

    private sealed class BoundedStream(Stream inner, long maxBytes, string path, string what) : Stream
    {
        private long read;

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            // Ask for at most one byte past the cap, so a stream exactly at the cap passes and one byte more is caught.
            long room = maxBytes - read + 1;
            int n = inner.Read(buffer[..(int)Math.Min(buffer.Length, room)]);
            read += n;
            if (read > maxBytes)
                throw new InvalidDataException($"{path}: holds more than {maxBytes:N0} bytes{(inner is System.IO.Compression.GZipStream or System.IO.Compression.DeflateStream ? " once inflated" : "")}, " +
                                               $"the most a {what} can legitimately hold; refusing it (a decompression bomb, or the wrong file?)")
                { Data = { [CapKey] = maxBytes } };
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => read; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
