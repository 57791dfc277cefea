using System.Diagnostics;
using Bcm.Imaging;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Interactions;
using OpenQA.Selenium.Support.UI;
using Xunit;

namespace Bcm.Tests;

/// <summary>
/// The studio in a real browser: <c>bcm studio</c> is started on a tiny model and Debian's Chromium, driven headless through
/// chromedriver, runs every panel (drawing the inpainting mask with the mouse) and saves a screenshot of each. Skipped,
/// with the reason, where Chromium or its driver is missing outside CI; in CI (.ci/run installs both) it must run.
/// Set BCM_STUDIO_CHECKPOINT to drive another model and BCM_STUDIO_SCREENSHOTS to keep the screenshots (docs/studio).
/// </summary>
[Trait("Category", "Slow")]
public sealed class StudioBrowserTests
{
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

    [SkippableFact]
    public void EveryPanelWorksInChromiumAndInpaintingKeepsKnownPixels()
    {
        var (browserPath, driverPath) = Chromium();
        string checkpoint = Environment.GetEnvironmentVariable("BCM_STUDIO_CHECKPOINT") ?? TestModels.TinyRun.Value;
        string shots = Environment.GetEnvironmentVariable("BCM_STUDIO_SCREENSHOTS") ?? TestPaths.NewTempDir();
        Directory.CreateDirectory(shots);
        using var server = StartStudio(checkpoint, out string url);
        var options = new ChromeOptions { BinaryLocation = browserPath };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1100,1000");
        using var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(driverPath)!, Path.GetFileName(driverPath));
        service.SuppressInitialDiagnosticInformation = true;
        using var driver = new ChromeDriver(service, options, TimeSpan.FromMinutes(2));
        var wait = new WebDriverWait(driver, TimeSpan.FromMinutes(2));
        driver.Navigate().GoToUrl(url);
        wait.Until(d => d.FindElement(By.TagName("body")).GetAttribute("data-ready") == "true");

        RunPanel(driver, wait, "sample", "sample", shots);
        Open(driver, "invert");
        LoadTestImage(driver, wait, "invert");
        RunPanel(driver, wait, "invert", "invert", shots);
        Open(driver, "interpolate");
        LoadTestImage(driver, wait, "interp-a");
        LoadTestImage(driver, wait, "interp-b");
        RunPanel(driver, wait, "interpolate", "interp", shots);

        Open(driver, "inpaint");
        LoadTestImage(driver, wait, "inpaint");
        var canvas = driver.FindElement(By.Id("inpaint-canvas"));
        new Actions(driver).MoveToElement(canvas, -40, -10).ClickAndHold().MoveByOffset(70, 0).MoveByOffset(0, 40).Release().Perform();
        RunPanel(driver, wait, "inpaint", "inpaint", shots);
        byte[] input = Pixels(driver.FindElement(By.CssSelector("[data-slot=inpaint] img")).GetAttribute("src")!, out int size);
        byte[] mask = Pixels(driver.FindElement(By.Id("inpaint-mask")).GetAttribute("src")!, out _);
        // The page plays the rounds in the result's place; its download link holds the result itself.
        byte[] result = Pixels(driver.FindElement(By.CssSelector("#inpaint-result + figcaption a")).GetAttribute("href")!, out _);
        Assert.Contains(mask, v => v == 0);   // the stroke marked pixels to fill
        Assert.Contains(mask, v => v == 255); // and left others known
        for (int p = 0; p < size * size; p++)
            if (mask[p] >= 128) Assert.Equal(input[p], result[p]);

        Open(driver, "restore");
        LoadTestImage(driver, wait, "restore");
        RunPanel(driver, wait, "restore", "restore", shots);
        Assert.EndsWith("dB", driver.FindElement(By.Id("restore-psnr-restored")).Text);

        Open(driver, "edit");
        LoadTestImage(driver, wait, "edit");
        new Actions(driver).MoveToElement(driver.FindElement(By.Id("edit-canvas")), -30, 30).ClickAndHold().MoveByOffset(60, -60).Release().Perform();
        RunPanel(driver, wait, "edit", "edit", shots);

        // A bad plan is refused next to its field with the CLI's message.
        Open(driver, "sample");
        var plan = driver.FindElement(By.Id("sample-plan"));
        plan.Clear();
        plan.SendKeys("80>90");
        wait.Until(d => d.FindElement(By.Id("sample-plan-error")).Text.Contains("noise levels must lie in"));
        foreach (var panel in new[] { "sample", "invert", "interpolate", "inpaint", "restore", "edit" })
            Assert.True(new FileInfo(Path.Combine(shots, panel + ".png")).Length > 1000, panel);
    }

    // bcm studio as a user starts it, on a free port; the URL is the one it prints.
    private static Studio StartStudio(string checkpoint, out string url)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Bcm.Cli.dll"), "studio", "-c", checkpoint, "--port", "0", "--threads", "1" })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        var errors = new System.Text.StringBuilder();
        p.ErrorDataReceived += (_, e) => { lock (errors) errors.AppendLine(e.Data); }; // drained: a full pipe would stall the server
        p.BeginErrorReadLine();
        var line = p.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromMinutes(2)) || line.Result is null)
        {
            p.Kill(true);
            lock (errors) Assert.Fail("bcm studio did not start: " + errors);
        }
        url = System.Text.RegularExpressions.Regex.Match(line.Result!, @"http://\S+/").Value;
        Assert.False(string.IsNullOrEmpty(url), line.Result);
        return new Studio(p);
    }

    private static void LoadTestImage(IWebDriver driver, WebDriverWait wait, string slot)
    {
        var preview = driver.FindElement(By.CssSelector($"[data-slot={slot}] img"));
        driver.FindElement(By.Id(slot + "-test-load")).Click();
        wait.Until(_ => preview.GetAttribute("src")?.StartsWith("data:image/png", StringComparison.Ordinal) == true);
    }

    private static void Open(IWebDriver driver, string tab) => driver.FindElement(By.CssSelector($"nav button[data-tab={tab}]")).Click();

    // Presses the open panel's Run button, waits for a fresh result and saves a screenshot named after the tab.
    private static void RunPanel(ChromeDriver driver, WebDriverWait wait, string tab, string panel, string shots)
    {
        driver.ExecuteScript($"delete document.body.dataset['{panel}']");
        driver.FindElement(By.Id(panel + "-run")).Click();
        try
        {
            wait.Until(d => d.FindElement(By.TagName("body")).GetAttribute("data-" + panel) is "done" or "error");
        }
        catch (WebDriverTimeoutException)
        {
            driver.GetScreenshot().SaveAsFile(Path.Combine(shots, $"timeout-{tab}.png"));
            Assert.Fail($"the {tab} panel gave no result; the page says: {driver.FindElement(By.Id("panel-" + tab)).Text}");
        }
        Assert.Equal("", driver.FindElement(By.Id(panel + "-error")).Text);
        Assert.Contains("NFE", driver.FindElement(By.Id(panel + "-meta")).Text);
        driver.GetScreenshot().SaveAsFile(Path.Combine(shots, tab + ".png"));
    }

    private static byte[] Pixels(string dataUrl, out int size)
    {
        var bytes = Convert.FromBase64String(dataUrl[(dataUrl.IndexOf(',') + 1)..]);
        var path = Path.Combine(TestPaths.NewTempDir(), "x.png");
        File.WriteAllBytes(path, bytes);
        ImageIO.ReadRgba(path, out size, out _);
        return ImageIO.ReadPixels(path, 1, size, resize: false);
    }

    // The studio process dies with the test, pass or fail.
    private sealed class Studio(Process process) : IDisposable
    {
        public void Dispose()
        {
            if (!process.HasExited) process.Kill(true);
            process.Dispose();
        }
    }
}
