using Bcm.Training;

namespace Bcm.Studio;

/// <summary>What <c>bcm studio</c> serves, and the caps that keep a request from costing more than a page needs.</summary>
public sealed record StudioOptions
{
    /// <summary>The model every request runs (loaded once; the studio evaluates it one request at a time).</summary>
    public required ModelLoader.Loaded Model { get; init; }

    /// <summary>
    /// The data set whose held-out images the page offers as test images (its test split where it has one); default the
    /// run's own data; null or empty for none.
    /// </summary>
    public string? Data { get; init; }

    /// <summary>The largest request body accepted, in bytes (default 8 MiB: a few PNGs as base64).</summary>
    public long MaxRequestBytes { get; init; } = 8L << 20;

    /// <summary>The most pixels an uploaded image may declare (default 1024²); larger ones are refused before decoding.</summary>
    public long MaxImagePixels { get; init; } = 1024L * 1024;

    /// <summary>The most images one sampling request makes (default 64).</summary>
    public int MaxSamples { get; init; } = 64;

    /// <summary>The most images along one interpolation path (default 33).</summary>
    public int MaxFrames { get; init; } = 33;

    /// <summary>The most network evaluations one request may cost (default 200).</summary>
    public int MaxNfe { get; init; } = 200;

    /// <summary>
    /// The longest one evaluation request may take, waiting in the queue included (default 2 minutes); a request still
    /// unanswered then is stopped at the engine's next step and answered with 503, so no request holds the queue for long.
    /// </summary>
    public TimeSpan MaxRequestTime { get; init; } = TimeSpan.FromMinutes(2);
}
