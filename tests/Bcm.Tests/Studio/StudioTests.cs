using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Bcm.Imaging;
using Bcm.Plans;
using Bcm.Studio;
using Bcm.Training;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using SkiaSharp;
using Xunit;

namespace Bcm.Tests;

/// <summary>A tiny trained run of the digits and the studio over it, in-process (ASP.NET Core's test server).</summary>
public sealed class StudioFixture : IAsyncLifetime
{
    public string Run => TestModels.TinyRun.Value;
    public ModelLoader.Loaded Model { get; private set; } = null!;
    public WebApplication App { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;

    /// <summary>Caps small enough to reach in a test.</summary>
    public const long MaxRequestBytes = 200_000;

    public async Task InitializeAsync()
    {
        Model = ModelLoader.Load(Run);
        App = StudioServer.Build(new StudioOptions { Model = Model, MaxRequestBytes = MaxRequestBytes, MaxImagePixels = 256 * 256, MaxNfe = 20 },
            b => b.WebHost.UseTestServer());
        await App.StartAsync();
        Client = App.GetTestClient();
    }

    public async Task DisposeAsync()
    {
        await App.DisposeAsync();
        Model.Dispose();
    }
}

/// <summary>The studio's API: every endpoint, bad inputs and caps, the queue, and results equal to the CLI's.</summary>
public sealed class StudioTests(StudioFixture studio) : IClassFixture<StudioFixture>
{
    private HttpClient Client => studio.Client;

    private async Task<string> TestImageUrl(int index)
    {
        var bytes = await Client.GetByteArrayAsync($"/api/test-image/{index}");
        return "data:image/png;base64," + Convert.ToBase64String(bytes);
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> Post(string path, object body)
    {
        var response = await Client.PostAsJsonAsync("/api/" + path, body);
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    private static byte[] Pixels(string dataUrl, int channels = 1) =>
        ImageIO.DecodePixels(Convert.FromBase64String(dataUrl[(dataUrl.IndexOf(',') + 1)..]), "result", channels, 8, resize: false);

    // A mask at the model's size: white (known) except a box of unknown pixels.
    private static string Mask(int x0, int y0, int w, int h)
    {
        var rgba = new byte[8 * 8 * 4];
        for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
        {
            byte v = x >= x0 && x < x0 + w && y >= y0 && y < y0 + h ? (byte)0 : (byte)255;
            rgba.AsSpan(4 * (y * 8 + x), 4).Fill(v);
        }
        return Png(rgba, 8, 8);
    }

    private static string Png(byte[] rgba, int w, int h)
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "x.png");
        ImageIO.SaveRgbaPng(rgba, w, h, path);
        return "data:image/png;base64," + Convert.ToBase64String(File.ReadAllBytes(path));
    }

    [Fact]
    public async Task ServesThePageAndDescribesTheModel()
    {
        Assert.Contains("bcm studio", await Client.GetStringAsync("/"));
        Assert.Contains("\"inpaint\"", await Client.GetStringAsync("/app.js"));
        var css = await Client.GetAsync("/style.css");
        Assert.Equal("text/css; charset=utf-8", css.Content.Headers.ContentType!.ToString());
        var info = await Client.GetFromJsonAsync<JsonElement>("/api/info");
        Assert.Equal(8, info.GetProperty("size").GetInt32());
        Assert.Equal(1, info.GetProperty("channels").GetInt32());
        Assert.Equal(1797, info.GetProperty("testImages").GetProperty("count").GetInt32()); // the run's own data: the built-in digits
        Assert.False(info.GetProperty("testImages").GetProperty("heldOut").GetBoolean());
        Assert.Equal("80>0.002", info.GetProperty("presets").GetProperty("onestep").GetString());
        var png = await Client.GetByteArrayAsync("/api/test-image/0");
        Assert.Equal(64, ImageIO.DecodePixels(png, "t", 1, 8, resize: false).Length);
        var missing = await Client.GetAsync("/api/test-image/1797");
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("0..1796", await missing.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task EveryPanelAnswersWithItsPlanNfeTimeAndImages()
    {
        string a = await TestImageUrl(3), b = await TestImageUrl(7);
        var (s, sample) = await Post("sample", new { plan = "zigzag3", count = 3, seed = 4 });
        Assert.Equal(HttpStatusCode.OK, s);
        Assert.Equal(PlanPresets.Resolve("zigzag3").Nfe, sample.GetProperty("nfe").GetInt32());
        Assert.Equal(3, sample.GetProperty("frames").GetArrayLength());
        Assert.True(sample.GetProperty("milliseconds").GetDouble() > 0);

        var (_, invert) = await Post("invert", new { image = a, plan = "invert2" });
        Assert.Equal(3, invert.GetProperty("nfe").GetInt32());
        Assert.True(double.IsFinite(invert.GetProperty("metrics").GetProperty("mse").GetDouble()));
        Assert.Equal(Pixels(a), Pixels(invert.GetProperty("images").GetProperty("input").GetString()!));

        var (_, path) = await Post("interpolate", new { a, b, count = 5 });
        Assert.Equal(5, path.GetProperty("frames").GetArrayLength());
        Assert.Equal(2 + 5, path.GetProperty("nfe").GetInt32());

        var (_, restore) = await Post("restore", new { image = a, quality = 10, levels = "0.5,0.2" });
        Assert.Equal(4, restore.GetProperty("nfe").GetInt32());
        Assert.Equal("rounds 0.5,0.2", restore.GetProperty("plan").GetString());
        Assert.True(restore.GetProperty("metrics").GetProperty("psnrDegraded").GetDouble() > 10);

        var (_, edit) = await Post("edit", new { image = a });
        Assert.Equal(2, edit.GetProperty("nfe").GetInt32());
        Assert.NotEqual(Pixels(a), Pixels(edit.GetProperty("images").GetProperty("result").GetString()!));
    }

    [Fact]
    public async Task InpaintingKeepsKnownPixelsBitIdentical()
    {
        string image = await TestImageUrl(11);
        var (status, result) = await Post("inpaint", new { image, mask = Mask(2, 2, 4, 3), levels = "20,5,1.2", seed = 3 });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(6, result.GetProperty("nfe").GetInt32());
        Assert.Equal(3, result.GetProperty("frames").GetArrayLength()); // one per round
        byte[] input = Pixels(image), output = Pixels(result.GetProperty("images").GetProperty("result").GetString()!);
        int changed = 0;
        for (int p = 0; p < 64; p++)
        {
            bool unknown = p % 8 is >= 2 and < 6 && p / 8 is >= 2 and < 5;
            if (!unknown) Assert.Equal(input[p], output[p]);
            else if (input[p] != output[p]) changed++;
        }
        Assert.True(changed > 0, "the unknown pixels were not filled");
    }

    [Fact]
    public async Task ResultsEqualTheCliForTheSameImagePlanAndSeed()
    {
        var dir = TestPaths.NewTempDir();
        string imagePath = Path.Combine(dir, "digit.png"), maskPath = Path.Combine(dir, "mask.png");
        File.WriteAllBytes(imagePath, await Client.GetByteArrayAsync("/api/test-image/21"));
        string mask = Mask(1, 3, 5, 4);
        File.WriteAllBytes(maskPath, Convert.FromBase64String(mask[(mask.IndexOf(',') + 1)..]));
        var cli = CliRunner.Bcm("inpaint", imagePath, "--mask", maskPath, "--levels", "10,2", "--seed", "9", "-c", studio.Run, "--out", Path.Combine(dir, "cli"));
        Assert.True(cli.Code == 0, cli.Err);
        var (_, page) = await Post("inpaint", new { image = "data:image/png;base64," + Convert.ToBase64String(File.ReadAllBytes(imagePath)), mask, levels = "10,2", seed = 9 });
        Assert.Equal(ImageIO.ReadPixels(Path.Combine(dir, "cli", "inpainted.png"), 1, 8, resize: false), Pixels(page.GetProperty("images").GetProperty("result").GetString()!));

        cli = CliRunner.Bcm("sample", "--plan", "mixed4", "-n", "2", "--seed", "5", "--individual", "-c", studio.Run, "--out", Path.Combine(dir, "samples"));
        Assert.True(cli.Code == 0, cli.Err);
        var (_, sample) = await Post("sample", new { plan = "mixed4", count = 2, seed = 5 });
        var individual = Directory.GetFiles(Path.Combine(dir, "samples"), "*.png").Where(f => Path.GetFileName(f) != "samples.png").Order().ToArray();
        Assert.Equal(2, individual.Length);
        for (int i = 0; i < 2; i++)
            Assert.Equal(ImageIO.ReadPixels(individual[i], 1, 8, resize: false), Pixels(sample.GetProperty("frames")[i].GetString()!));
    }

    [Fact]
    public async Task BadRequestsGetTheCliMessagesAs400()
    {
        string image = await TestImageUrl(0);
        async Task Refused(string path, object body, string expected)
        {
            var (status, answer) = await Post(path, body);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains(expected, answer.GetProperty("error").GetString());
        }
        // A plan's message is the library's, word for word, as the CLI prints it.
        string planMessage = Assert.Throws<PlanException>(() => PlanPresets.Resolve("80>90")).Message;
        await Refused("sample", new { plan = "80>90" }, planMessage);
        await Refused("sample", new { plan = "invert1" }, "that is an inversion");
        await Refused("plan", new { plan = "0.07>80", direction = "generate" }, "goes up in noise level");
        await Refused("sample", new { count = 65 }, "count: 1..64");
        await Refused("sample", new { plan = "ancestral:30" }, "at most 20");
        await Refused("sample", new { label = 1 }, "the model is unconditional");
        await Refused("sample", new { plann = "onestep" }, "plann");
        await Refused("inpaint", new { image, mask = Mask(0, 0, 0, 0) }, "no pixel to fill");
        await Refused("inpaint", new { image }, "mask: missing");
        await Refused("inpaint", new { image, mask = image, levels = "5,20" }, "must not increase");
        await Refused("invert", new { image = "data:image/png;base64,%%%" }, "not valid base64");
        await Refused("invert", new { image = "data:image/png;base64," + Convert.ToBase64String(Encoding.ASCII.GetBytes("not an image")) }, "not an image");
        await Refused("invert", new { image = Png(new byte[300 * 300 * 4], 300, 300) }, "more than the 65,536");
        await Refused("inpaint", new { image, mask = Png(new byte[16 * 16 * 4], 16, 16) }, "the model takes 8x8");
        await Refused("restore", new { image, quality = 0 }, "quality");
        await Refused("interpolate", new { a = image, b = image, count = 1 }, "count: 2..33");

        var huge = await Client.PostAsync("/api/invert", new StringContent($"{{\"image\":\"{new string('A', (int)StudioFixture.MaxRequestBytes)}\"}}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, huge.StatusCode);
        Assert.Contains("at most 200,000", await huge.Content.ReadAsStringAsync());
        var broken = await Client.PostAsync("/api/sample", new StringContent("{\"plan\":", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
        Assert.Contains("not valid", await broken.Content.ReadAsStringAsync());
    }

    [Fact]
    public void TestsRunWithoutCollections() => Assert.Equal(System.Runtime.GCLatencyMode.NoGCRegion, System.Runtime.GCSettings.LatencyMode);

    [Fact]
    public async Task TheQueueRunsOneRequestAtATimeAndDropsThoseWhoseClientLeft()
    {
        var queue = new EvaluationQueue();
        using var release = new ManualResetEventSlim();
        int running = 0, most = 0;
        int Work(CancellationToken _)
        {
            most = Math.Max(most, Interlocked.Increment(ref running));
            release.Wait(TimeSpan.FromSeconds(30));
            Interlocked.Decrement(ref running);
            return 1;
        }
        var first = queue.Run("a", Work, CancellationToken.None);
        while (queue.Position("a") != 0 || Volatile.Read(ref running) == 0) await Task.Delay(5);
        using var leave = new CancellationTokenSource();
        var second = queue.Run("b", Work, leave.Token);
        var third = queue.Run("c", Work, CancellationToken.None);
        Assert.Equal(1, queue.Position("b"));
        Assert.Equal(2, queue.Position("c"));
        leave.Cancel(); // b's client goes away while it waits
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
        Assert.Equal(-1, queue.Position("b"));
        Assert.Equal(1, queue.Position("c"));
        release.Set();
        Assert.Equal(1, await first);
        Assert.Equal(1, await third);
        Assert.Equal(1, most);
        Assert.Equal(0, queue.Length);
    }
}
