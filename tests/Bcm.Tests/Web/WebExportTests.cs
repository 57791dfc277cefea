using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Bcm.Training;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Bcm.Tests;

/// <summary>
/// <c>bcm export --format web</c> in a real browser: the folder is served on 127.0.0.1 by a plain static server and
/// Debian's Chromium (headless, through chromedriver) loads the page, generates from seeds, inverts, and shows the
/// package's error for a wrong image. The page's one-step output for a seed equals <c>bcm sample</c>'s within 1e-4 of
/// its scale. Skipped, with the reason, where Chromium or its driver is missing outside CI; in CI (.ci/run installs
/// both) it must run.
/// </summary>
[Trait("Category", "Slow")]
public sealed class WebExportTests(ITestOutputHelper output)
{
    [Fact]
    public void TheWebExportHoldsThePageTheRuntimeAndThePlansAndRefusesAFolderInUse()
    {
        string run = TestModels.TinyRun.Value, dir = Path.Combine(TestPaths.NewTempDir(), "web");
        var export = CliRunner.Bcm("export", run, "--format", "web", "-o", dir);
        Assert.True(export.Code == 0, export.Err);
        foreach (var f in new[] { "index.html", "bcm.js", "page.js", "plans.json", "model.onnx", "config.json", "README.md", "ort/ort.wasm.min.js", "ort/ort-wasm-simd-threaded.wasm" })
            Assert.True(File.Exists(Path.Combine(dir, f)), f);
        Assert.DoesNotContain("://", File.ReadAllText(Path.Combine(dir, "index.html"))); // no CDN: every script is in the folder
        using (var pkg = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "ort", "package.json"))))
            Assert.Equal("1.30.0", pkg.RootElement.GetProperty("version").GetString()); // the pinned onnxruntime-web
        using (var plans = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "plans.json"))))
        {
            var onestep = plans.RootElement.GetProperty("plans").GetProperty("onestep");
            Assert.Equal(1, onestep.GetProperty("nfe").GetInt32());
            Assert.Equal("jump", onestep.GetProperty("steps")[0].GetProperty("op").GetString());
            Assert.Equal("onestep", plans.RootElement.GetProperty("regenerate").GetProperty("invert1").GetString());
        }
        var again = CliRunner.Bcm("export", run, "--format", "web", "-o", dir);
        Assert.Equal(2, again.Code);
        Assert.Contains("not empty", again.Err);
        Assert.Equal(0, CliRunner.Bcm("export", run, "--format", "web", "-o", dir, "--force").Code);
    }

    [SkippableFact]
    public void ThePageGeneratesWhatBcmSampleGivesInvertsAndSaysWhatIsWrong()
    {
        var (browserPath, driverPath) = Chromium();
        string run = TestModels.TinyRun.Value, dir = Path.Combine(TestPaths.NewTempDir(), "web");
        Assert.Equal(0, CliRunner.Bcm("export", run, "--format", "web", "-o", dir).Code);
        string sampled = TestPaths.NewTempDir();
        Assert.Equal(0, CliRunner.Bcm("sample", "-c", run, "-n", "6", "--seed", "3", "--engine", "torch", "--out", sampled).Code);
        using var expected = Checkpoints.SafeTensors.Load(Path.Combine(sampled, "samples.safetensors")).Tensors["samples"];
        using var loaded = ModelLoader.Load(run);

        foreach (bool isolated in new[] { false, true })
        {
            using var server = new StaticServer(dir, isolated);
            using var driver = Browser(browserPath, driverPath);
            var wait = new WebDriverWait(driver, TimeSpan.FromMinutes(2));
            driver.Navigate().GoToUrl(server.Url + "index.html");
            wait.Until(d => d.FindElement(By.TagName("body")).GetAttribute("data-ready") == "true" || d.FindElement(By.Id("error")).Text.Length > 0);
            Assert.True(driver.FindElement(By.TagName("body")).GetAttribute("data-ready") == "true", driver.FindElement(By.Id("error")).Text);

            using var page = Tensor(Script(driver, "return bcmPage.sample(3, 6, 'onestep')"), expected.shape);
            Assertions.Close(expected, page, rtol: 1e-4, what: $"the page's one-step samples (cross-origin isolated: {isolated})");
            // Not a timed test (nothing is asserted of it): the browser's one-step rate on the tiny model, for the record.
            var rate = Convert.ToDouble(Script(driver, "return bcmPage.imagesPerSecond(16, 3)"));
            output.WriteLine($"one-step images/s in Chromium, {(isolated ? "cross-origin isolated" : "not isolated")}, {Script(driver, "return bcmPage.threads")} thread(s): {rate:F0}");
            if (isolated) continue;

            // Few steps and an inversion round trip, against the library on the same checkpoint.
            using var zigzag = PlanRunner(loaded, "zigzag3", 2, 5);
            using var pageZigzag = Tensor(Script(driver, "return bcmPage.sample(5, 2, 'zigzag3')"), zigzag.shape);
            Assertions.Close(zigzag, pageZigzag, rtol: 1e-4, what: "the page's zigzag3");
            using var image = expected[0..1].clone();
            var values = image.data<float>().ToArray().Select(v => (object)(double)v).ToList();
            var inverted = ((IJavaScriptExecutor)driver).ExecuteAsyncScript(
                "const done = arguments[arguments.length - 1]; bcmPage.invert(arguments[0], 'invert1').then(r => done(r.latents), e => done('error: ' + e))", values);
            using var latents = Plans.Sampling.Invert(loaded.Model, image, "invert1", seed: 0);
            using var pageLatents = Tensor(inverted!, latents.shape);
            Assertions.Close(latents, pageLatents, rtol: 1e-4, what: "the page's inversion");

            // The panels: a generation drawn with its NFE and time; a wrong image refused with the package's message.
            driver.FindElement(By.Id("run-generate")).Click();
            wait.Until(d => d.FindElement(By.Id("generate-stats")).Text.Contains("ms per image"));
            Assert.Equal(8, driver.FindElements(By.CssSelector("#samples canvas")).Count);
            Assert.Contains("1 NFE", driver.FindElement(By.Id("generate-stats")).Text);
            string wrong = Path.Combine(TestPaths.NewTempDir(), "big.png");
            Imaging.ImageIO.SaveRgbaPng(new byte[16 * 16 * 4], 16, 16, wrong);
            driver.FindElement(By.Id("invert-file")).SendKeys(wrong);
            driver.FindElement(By.Id("run-invert")).Click();
            wait.Until(d => d.FindElement(By.Id("error")).Text.Contains("resize the image first"));
            Assert.Contains("16×16 pixels, but the model takes 8×8", driver.FindElement(By.Id("error")).Text);
        }
    }

    private static Tensor PlanRunner(ModelLoader.Loaded loaded, string plan, int count, long seed) =>
        Plans.PlanRunner.Generate(loaded.Model, Plans.PlanPresets.Resolve(plan), count, seed);

    private static object Script(ChromeDriver driver, string body) =>
        ((IJavaScriptExecutor)driver).ExecuteAsyncScript($"const done = arguments[arguments.length - 1]; (async () => {{ {body}; }})().then(done, e => done('error: ' + e))")
        ?? throw new InvalidOperationException("the script returned nothing");

    private static Tensor Tensor(object values, long[] shape)
    {
        if (values is string s) Assert.Fail(s);
        var list = ((IEnumerable<object>)values).Select(Convert.ToSingle).ToArray();
        return tensor(list, shape);
    }

    private static readonly string[] BrowserPaths = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
    private static readonly string[] DriverPaths = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];

    private static (string Browser, string Driver) Chromium()
    {
        var browser = BrowserPaths.FirstOrDefault(File.Exists);
        var driver = DriverPaths.FirstOrDefault(File.Exists);
        if (browser is not null && driver is not null) return (browser, driver);
        if (Environment.GetEnvironmentVariable("CI") is "true" or "1")
            Assert.Fail("Chromium or chromedriver is missing in CI: .ci/run installs them (apt-get install chromium chromium-driver)");
        Skip.If(true, "Chromium and chromedriver are not installed (apt-get install chromium chromium-driver); the browser test needs them");
        throw new UnreachableException();
    }

    private static ChromeDriver Browser(string browserPath, string driverPath)
    {
        var options = new ChromeOptions { BinaryLocation = browserPath };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1100,1000");
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(driverPath)!, Path.GetFileName(driverPath));
        service.SuppressInitialDiagnosticInformation = true;
        var driver = new ChromeDriver(service, options, TimeSpan.FromMinutes(2));
        driver.Manage().Timeouts().AsynchronousJavaScript = TimeSpan.FromMinutes(2);
        return driver;
    }

    /// <summary>
    /// A plain static file server on 127.0.0.1 (any host would do: the export needs nothing but files and their types);
    /// with <paramref name="isolated"/> it sends the two headers that make a page cross-origin isolated, which
    /// WebAssembly threads need.
    /// </summary>
    internal sealed class StaticServer : IDisposable
    {
        private readonly HttpListener listener = new();
        private readonly string root;
        private readonly bool isolated;
        private readonly Task loop;

        public StaticServer(string root, bool isolated)
        {
            this.root = Path.GetFullPath(root);
            this.isolated = isolated;
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                Url = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}/";
                probe.Stop();
            }
            listener.Prefixes.Add(Url);
            listener.Start();
            loop = Task.Run(Serve);
        }

        public string Url { get; }

        private async Task Serve()
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await listener.GetContextAsync(); }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
                var response = context.Response;
                try
                {
                    string relative = Uri.UnescapeDataString(context.Request.Url!.AbsolutePath.TrimStart('/'));
                    string path = Path.GetFullPath(Path.Combine(root, relative.Length == 0 ? "index.html" : relative));
                    if (!path.StartsWith(root, StringComparison.Ordinal) || !File.Exists(path)) { response.StatusCode = 404; continue; }
                    response.ContentType = Path.GetExtension(path) switch
                    {
                        ".html" => "text/html; charset=utf-8", ".js" or ".mjs" => "text/javascript", ".wasm" => "application/wasm",
                        ".json" => "application/json", _ => "application/octet-stream",
                    };
                    if (isolated)
                    {
                        response.Headers["Cross-Origin-Opener-Policy"] = "same-origin";
                        response.Headers["Cross-Origin-Embedder-Policy"] = "require-corp";
                    }
                    var bytes = await File.ReadAllBytesAsync(path);
                    response.ContentLength64 = bytes.Length;
                    await response.OutputStream.WriteAsync(bytes);
                }
                catch (Exception e) when (e is HttpListenerException or IOException) { }
                finally
                {
                    try { response.Close(); } catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { }
                }
            }
        }

        public void Dispose()
        {
            listener.Stop();
            listener.Close();
            try { loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        }
    }
}
